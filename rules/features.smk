rule convert_llm:
    output:
        directory("results/models/llm"),
    log:
        "results/logs/convert_llm.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    params:
        gguf=config["llm"]["gguf"],
    script:
        "../scripts/convert_llm.py"


rule linking_features:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
    output:
        "results/{dataset}/features/linking.npy",
    log:
        "results/logs/{dataset}/linking_features.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    script:
        "../scripts/linking_features.py"


rule llm_features:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        classes="results/{dataset}/data/classes.json",
        model="results/models/llm",
    output:
        features="results/{dataset}/features/llm.npy",
        classes="results/{dataset}/features/llm_classes.npz",
    log:
        "results/logs/{dataset}/llm_features.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    threads: config["resources"]["features"]["threads"]
    resources:
        mem_mb=config["resources"]["features"]["mem_mb"],
        runtime=config["resources"]["features"]["runtime"],
    params:
        llm=config["llm"],
    script:
        "../scripts/llm_features.py"


rule extract_backbone:
    output:
        directory("results/models/backbone"),
    log:
        "results/logs/extract_backbone.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    params:
        spec=config["backbone"]["path"],
    script:
        "../scripts/extract_backbone.py"


rule backbone_model:
    input:
        unpack(backbone_sources),
    output:
        "results/models/backbone.json",
    log:
        "results/logs/backbone_model.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    params:
        spec=config["backbone"]["path"],
    script:
        "../scripts/backbone_model.py"


rule tokenize_questions:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        model="results/models/backbone.json",
    output:
        "results/{dataset}/features/tokens.npz",
    log:
        "results/logs/{dataset}/tokenize_questions.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=config["resources"]["light"]["mem_mb"],
        runtime=config["resources"]["light"]["runtime"],
    params:
        max_length=config["backbone"]["max_length"],
    script:
        "../scripts/tokenize_questions.py"


rule backbone_embeddings:
    input:
        rows="results/{dataset}/data/dataset.jsonl",
        model="results/models/backbone.json",
    output:
        "results/{dataset}/features/backbone.npy",
    log:
        "results/logs/{dataset}/backbone_embeddings.log",
    priority: UPSTREAM_PRIORITY
    conda:
        "../envs/features.yaml"
    threads: config["resources"]["features"]["threads"]
    resources:
        mem_mb=config["resources"]["features"]["mem_mb"],
        runtime=config["resources"]["features"]["runtime"],
    params:
        backbone=config["backbone"],
    script:
        "../scripts/backbone_embeddings.py"
