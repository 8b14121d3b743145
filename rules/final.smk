# The final model of each run dataset (hhnas.final): the main search's best candidates by
# validation accuracy retrained with their search seeds and TF-IDF + logistic regression,
# weighted by greedy ensemble selection on validation (final.ensemble), saved for
# `hhnas predict`; its error analysis; and batch prediction over the CSV files named in
# `predict.inputs`.
rule final_model:
    input:
        unpack(final_inputs),
    output:
        model=directory("results/{dataset}/final"),
        metrics="results/{dataset}/analysis/final_metrics.json",
        probabilities="results/{dataset}/analysis/final_probabilities.npz",
    log:
        "results/logs/{dataset}/final_model.log",
    conda:
        "../envs/final.yaml"
    threads: CONFIG.final_threads
    resources:
        mem_mb=config["resources"]["search"]["mem_mb"],
        runtime=config["resources"]["search"]["runtime"],
    params:
        job=final_params,
        basedir=workflow.basedir,
    script:
        "../scripts/final_model.py"


rule error_analysis:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
        groups="results/{dataset}/data/groups.json",
        probabilities="results/{dataset}/analysis/final_probabilities.npz",
    output:
        errors="results/{dataset}/analysis/errors.json",
        pairs=report(
            "results/{dataset}/analysis/confused_pairs.csv",
            caption="../report/confused_pairs.rst",
            category="Final model",
            subcategory="{dataset}",
        ),
    log:
        "results/logs/{dataset}/error_analysis.log",
    conda:
        "../envs/report.yaml"
    params:
        analysis=config["analysis"],
    script:
        "../scripts/error_analysis.py"


rule predict_csv:
    input:
        model="results/{dataset}/final",
        csv=predict_input,
    output:
        "results/{dataset}/predictions/{name}.csv",
    log:
        "results/logs/{dataset}/predict_{name}.log",
    conda:
        "../envs/features.yaml"
    threads: config["resources"]["features"]["threads"]
    resources:
        mem_mb=config["resources"]["features"]["mem_mb"],
        runtime=config["resources"]["features"]["runtime"],
    params:
        predict=config["predict"],
        features={"backbone": config["backbone"], "llm": config["llm"]},
    script:
        "../scripts/predict_csv.py"
