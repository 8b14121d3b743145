# Strategies, ablations and plain baselines side by side (config `comparison`).


rule baseline:
    input:
        unpack(baseline_inputs),
    output:
        "results/{dataset}/baselines/{baseline}.json",
    log:
        "results/logs/{dataset}/baselines/{baseline}.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/train.yaml"
    # TF-IDF + logistic regression fits its C grid in parallel (same result for any count).
    threads: config["resources"]["features"]["threads"]
    resources:
        mem_mb=config["resources"]["search"]["mem_mb"],
        runtime=config["resources"]["search"]["runtime"],
    script:
        "../scripts/baseline.py"


rule comparison:
    input:
        unpack(comparison_inputs),
    output:
        table_csv=report(
            COMPARISON_FILES["table_csv"],
            caption="../report/comparison_table.rst",
            category="Comparison",
        ),
        table_md="results/comparison/comparison.md",
        table_tex="results/comparison/comparison.tex",
        figure_png=report(
            COMPARISON_FILES["figure_png"],
            caption="../report/comparison_figure.rst",
            category="Comparison",
        ),
        figure_svg="results/comparison/best_so_far.svg",
    log:
        "results/logs/comparison.log",
    conda:
        "../envs/report.yaml"
    params:
        variants=COMPARED,
        title=f"Best-so-far validation accuracy ({CONFIG.comparison.dataset})",
    script:
        "../scripts/comparison.py"


rule comparison_html:
    input:
        **COMPARISON_FILES,
        captions=CAPTIONS,
        template=TEMPLATE,
    output:
        "results/comparison.html",
    log:
        "results/logs/comparison_html.log",
    conda:
        "../envs/report.yaml"
    params:
        config=config,
    script:
        "../scripts/comparison_report.py"
