rule convert_llm:
    output:
        directory("results/models/llm"),
    params:
        gguf=config["llm"]["gguf"],
    log:
        "results/logs/convert_llm.log",
    conda:
        "../envs/features.yaml"
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
    params:
        llm=config["llm"],
    threads: workflow.cores
    log:
        "results/logs/{dataset}/llm_features.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/llm_features.py"


rule backbone_embeddings:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
    output:
        "results/{dataset}/features/backbone.npy",
    params:
        backbone=config["backbone"],
    threads: workflow.cores
    log:
        "results/logs/{dataset}/backbone_embeddings.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/backbone_embeddings.py"
