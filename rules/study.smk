# The study (`make study`, config/study.yaml, docs/study.md): every variant on every dataset.
# Defined only with a `study` section: otherwise a present study's files are plain inputs that
# the report embeds (rules/common.smk, present_study).
if CONFIG.study is not None:

    rule study_dataset:
        input:
            unpack(study_inputs),
        output:
            table_csv=report(
                "results/study/{dataset}/study.csv",
                caption="../report/study_table.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            table_md="results/study/{dataset}/study.md",
            table_tex="results/study/{dataset}/study.tex",
            importance_csv=report(
                "results/study/{dataset}/importance.csv",
                caption="../report/study_importance.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            importance_md="results/study/{dataset}/importance.md",
            importance_tex="results/study/{dataset}/importance.tex",
            curves_png=report(
                "results/study/{dataset}/best_so_far.png",
                caption="../report/study_curves.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            curves_svg="results/study/{dataset}/best_so_far.svg",
            cost_png=report(
                "results/study/{dataset}/accuracy_cost.png",
                caption="../report/study_cost.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            cost_svg="results/study/{dataset}/accuracy_cost.svg",
            summary="results/study/{dataset}/summary.json",
        log:
            "results/logs/study/{dataset}.log",
        conda:
            "../envs/report.yaml"
        params:
            study=study_params,
        script:
            "../scripts/study_dataset.py"

    rule study_html:
        input:
            unpack(study_html_inputs),
            captions=CAPTIONS,
            template=TEMPLATE,
        output:
            "results/study.html",
        log:
            "results/logs/study_html.log",
        conda:
            "../envs/report.yaml"
        params:
            config=config,
        script:
            "../scripts/study_report.py"
