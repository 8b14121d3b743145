rule prepare_dataset:
    output:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
        counts=report(
            "results/{dataset}/data/counts.json",
            caption="../report/counts.rst",
            category="Data",
        ),
    params:
        dataset_cfg=dataset_config,
        data_cfg=config["data"],
    log:
        "results/logs/{dataset}/prepare_dataset.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/prepare_dataset.py"
