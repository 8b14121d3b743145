# Cheap aggregation: on a cluster these run on the submitting node, not as jobs.
localrules:
    tables,
    figures,
    report_html,
    backbone_model,
    comparison,
    comparison_html,


rule tables:
    input:
        spider=spider_metrics,
        heldout=heldout_metrics,
    output:
        table1=report(
            "results/tables/table1.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        table1_md="results/tables/table1.md",
        table1_tex="results/tables/table1.tex",
        table2=report(
            "results/tables/table2.csv",
            caption="../report/table2.rst",
            category="Tables",
        ),
        table2_md="results/tables/table2.md",
        table2_tex="results/tables/table2.tex",
        table3=report(
            "results/tables/table3.csv",
            caption="../report/table3.rst",
            category="Tables",
        ),
        table3_md="results/tables/table3.md",
        table3_tex="results/tables/table3.tex",
    log:
        "results/logs/tables.log",
    conda:
        "../envs/report.yaml"
    params:
        reference=config["reference"],
    script:
        "../scripts/tables.py"


rule figures:
    input:
        spider_metrics,
    output:
        figure3=report(
            "results/figures/figure3.png",
            caption="../report/figure3.rst",
            category="Figures",
        ),
        figure3_svg="results/figures/figure3.svg",
        figure4=report(
            "results/figures/figure4.png",
            caption="../report/figure4.rst",
            category="Figures",
        ),
        figure4_svg="results/figures/figure4.svg",
        models=report(
            expand("results/figures/model{m}.png", m=MODELS),
            caption="../report/model_trend.rst",
            category="Figures",
        ),
        models_svg=expand("results/figures/model{m}.svg", m=MODELS),
    log:
        "results/logs/figures.log",
    conda:
        "../envs/report.yaml"
    params:
        models=MODELS,
    script:
        "../scripts/figures.py"


rule report_html:
    input:
        unpack(report_inputs),
    output:
        "results/report.html",
    log:
        "results/logs/report.log",
    conda:
        "../envs/report.yaml"
    params:
        config=config,
        template="report/template.html.j2",
    script:
        "../scripts/report.py"
