rule convert_llm:
    output:
        directory("results/models/llm"),
    log:
        "results/logs/convert_llm.log",
    conda:
        "../envs/features.yaml"
    params:
        gguf=config["llm"]["gguf"],
    script:
        "../scripts/convert_llm.py"


rule rule_features:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
    output:
        "results/{dataset}/features/rule.npy",
    log:
        "results/logs/{dataset}/rule_features.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/rule_features.py"


rule llm_features:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
        model="results/models/llm",
    output:
        "results/{dataset}/features/llm.npy",
    log:
        "results/logs/{dataset}/llm_features.log",
    conda:
        "../envs/features.yaml"
    threads: workflow.cores
    params:
        llm=config["llm"],
    script:
        "../scripts/llm_features.py"


rule backbone_embeddings:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
    output:
        "results/{dataset}/features/backbone.npy",
    log:
        "results/logs/{dataset}/backbone_embeddings.log",
    conda:
        "../envs/features.yaml"
    threads: workflow.cores
    params:
        backbone=config["backbone"],
    script:
        "../scripts/backbone_embeddings.py"
