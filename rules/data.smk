rule prepare_dataset:
    output:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
        counts=report(
            "results/{dataset}/data/counts.json",
            caption="../report/counts.rst",
            category="Data",
        ),
        groups="results/{dataset}/data/groups.json",
    log:
        "results/logs/{dataset}/prepare_dataset.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    params:
        dataset_cfg=dataset_config,
        data_cfg=config["data"],
    script:
        "../scripts/prepare_dataset.py"
