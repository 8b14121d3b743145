# The study (`make study`, config/study.yaml, docs/study.md): confirmatory runs of every variant
# on fresh seeds, the noise floor, the surrogate benchmark, and the conclusion computed from them.
# Defined only with a `study` section: otherwise a present study's files are plain inputs that
# the report embeds (rules/common.smk, present_study).
if CONFIG.study is not None:

    # The confirmatory runs: the main search's iteration job on the study's own seeds, in a
    # tree of its own (results/study/<dataset>/search/).
    use rule search_iteration as study_iteration with:
        input:
            unpack(study_iteration_inputs),
        output:
            state="results/study/{dataset}/search/{variant}/exp{experiment}/state_{iteration}.json",
            metrics="results/study/{dataset}/search/{variant}/exp{experiment}/metrics_{iteration}.json",
        log:
            "results/logs/study/{dataset}/search/{variant}/exp{experiment}/iteration_{iteration}.log",
        params:
            job=study_iteration_job,

    rule study_noise_floor:
        input:
            unpack(study_noise_inputs),
        output:
            "results/study/{dataset}/noise.json",
        log:
            "results/logs/study/{dataset}/noise.log",
        conda:
            "../envs/train.yaml"
        threads: config["training"]["threads"]
        resources:
            mem_mb=config["resources"]["search"]["mem_mb"],
            runtime=config["resources"]["search"]["runtime"],
        params:
            study=study_noise_params,
        script:
            "../scripts/study_noise.py"

    rule study_surrogate:
        input:
            metrics=study_pool,
            noise="results/study/{dataset}/noise.json",
        output:
            "results/study/{dataset}/surrogate.json",
        log:
            "results/logs/study/{dataset}/surrogate.log",
        conda:
            "../envs/study.yaml"
        resources:
            mem_mb=config["resources"]["search"]["mem_mb"],
            runtime=config["resources"]["search"]["runtime"],
        params:
            study=study_surrogate_params,
        script:
            "../scripts/study_surrogate.py"

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
            surrogate_csv=report(
                "results/study/{dataset}/surrogate.csv",
                caption="../report/study_surrogate.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            surrogate_md="results/study/{dataset}/surrogate.md",
            surrogate_tex="results/study/{dataset}/surrogate.tex",
            noise_csv=report(
                "results/study/{dataset}/noise.csv",
                caption="../report/study_noise.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            noise_md="results/study/{dataset}/noise.md",
            noise_tex="results/study/{dataset}/noise.tex",
            qtable_csv=report(
                "results/study/{dataset}/qtable.csv",
                caption="../report/study_qtable.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            qtable_md="results/study/{dataset}/qtable.md",
            qtable_tex="results/study/{dataset}/qtable.tex",
            curves_png=report(
                "results/study/{dataset}/best_so_far.png",
                caption="../report/study_curves.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            curves_svg="results/study/{dataset}/best_so_far.svg",
            surrogate_curves_png=report(
                "results/study/{dataset}/surrogate_best_so_far.png",
                caption="../report/study_surrogate_curves.rst",
                category="Study",
                subcategory="{dataset}",
            ),
            surrogate_curves_svg="results/study/{dataset}/surrogate_best_so_far.svg",
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
            "../envs/study.yaml"
        params:
            study=study_params,
        script:
            "../scripts/study_dataset.py"

    rule study_conclusion:
        input:
            study_conclusion_inputs,
        output:
            json="results/study/conclusion.json",
            md="results/study/conclusion.md",
            table_csv=report(
                "results/study/conclusion_table.csv",
                caption="../report/study_conclusion.rst",
                category="Study",
            ),
            table_md="results/study/conclusion_table.md",
            table_tex="results/study/conclusion_table.tex",
        log:
            "results/logs/study/conclusion.log",
        conda:
            "../envs/study.yaml"
        params:
            study=study_conclusion_params,
        script:
            "../scripts/study_conclusion.py"

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
