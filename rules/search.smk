rule search_iteration:
    input:
        unpack(iteration_inputs),
    output:
        state="results/{dataset}/search/{variant}/exp{experiment}/state_{iteration}.json",
        metrics="results/{dataset}/search/{variant}/exp{experiment}/metrics_{iteration}.json",
    log:
        "results/logs/{dataset}/search/{variant}/exp{experiment}/iteration_{iteration}.log",
    priority: iteration_priority
    conda:
        "../envs/train.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=config["training"]["gpu"],
        mem_mb=config["resources"]["search"]["mem_mb"],
        runtime=config["resources"]["search"]["runtime"],
    params:
        job=iteration_job,
    # A shell command, not `script:`: a quick iteration trains in about a second, and a
    # `script:` adapter first spends a fifth of a CPU-second importing Snakemake to unpickle
    # its `snakemake` object (scripts/run_job.py; rules/common.smk sets the two variables).
    shell:
        '"$HHNAS_PYTHON" "$HHNAS_RUN_JOB" search_iteration {log:q} {params.job:q}'
