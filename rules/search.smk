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
    # scripts/search_iteration.py (the client, $HHNAS_RUN_JOB) calls hhnas.jobs.search_iteration,
    # in the warm worker when it is on: a shell command, not `script:`, says why. The two
    # variables are rules/common.smk's (hhnas.jobs.worker.export_job_environment).
    shell:
        '"$HHNAS_PYTHON" "$HHNAS_RUN_JOB" {log:q} {params.job:q}'
