rule search_iteration:
    input:
        unpack(iteration_inputs),
    output:
        state="results/{dataset}/search/{variant}/exp{experiment}/state_{iteration}.json",
        metrics="results/{dataset}/search/{variant}/exp{experiment}/metrics_{iteration}.json",
    log:
        "results/logs/{dataset}/search/{variant}/exp{experiment}/iteration_{iteration}.log",
    conda:
        "../envs/train.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=config["training"]["gpu"],
        mem_mb=config["resources"]["search"]["mem_mb"],
        runtime=config["resources"]["search"]["runtime"],
    params:
        search=iteration_search,
    script:
        "../scripts/search_iteration.py"
