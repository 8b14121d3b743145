# Cheap aggregation: on a cluster these run on the submitting node, not as jobs.
localrules:
    spider_tables,
    heldout_table,
    figures,
    dataset_table,
    dataset_figures,
    report_html,
    candidates_table,
    backbone_model,
    comparison,
    comparison_html,
    error_analysis,


# The paper's tables and figures, for the datasets that play its roles (config `tables`).
rule spider_tables:
    input:
        metrics=spider_metrics,
    output:
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
        "results/logs/spider_tables.log",
    conda:
        "../envs/report.yaml"
    params:
        reference=config["reference"],
    script:
        "../scripts/tables.py"


rule heldout_table:
    input:
        metrics=heldout_metrics,
    output:
        table1=report(
            "results/tables/table1.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        table1_md="results/tables/table1.md",
        table1_tex="results/tables/table1.tex",
    log:
        "results/logs/heldout_table.log",
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
        dataset="",
    script:
        "../scripts/figures.py"


# Every dataset's own table and trend figures, titled with its name.
rule dataset_table:
    input:
        metrics=dataset_metrics,
    output:
        experiments=report(
            "results/{dataset}/tables/experiments.csv",
            caption="../report/dataset_table.rst",
            category="Datasets",
            subcategory="{dataset}",
        ),
        experiments_md="results/{dataset}/tables/experiments.md",
        experiments_tex="results/{dataset}/tables/experiments.tex",
    log:
        "results/logs/{dataset}/dataset_table.log",
    conda:
        "../envs/report.yaml"
    params:
        reference={},
    script:
        "../scripts/tables.py"


rule dataset_figures:
    input:
        dataset_metrics,
    output:
        models=report(
            expand("results/{{dataset}}/figures/model{m}.png", m=MODELS),
            caption="../report/dataset_model_trend.rst",
            category="Datasets",
            subcategory="{dataset}",
        ),
        models_svg=expand("results/{{dataset}}/figures/model{m}.svg", m=MODELS),
    log:
        "results/logs/{dataset}/dataset_figures.log",
    conda:
        "../envs/report.yaml"
    params:
        models=MODELS,
        dataset=dataset_name,
    script:
        "../scripts/figures.py"


# Every evaluated candidate, one row each (hhnas.reporting.candidates, docs/candidates.md).
rule candidates_table:
    input:
        unpack(candidate_files),
    output:
        report(
            "results/candidates.csv",
            caption="../report/candidates.rst",
            category="Tables",
        ),
    log:
        "results/logs/candidates_table.log",
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/candidates.py"


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
    script:
        "../scripts/report.py"
