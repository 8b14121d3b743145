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
    # The last five say how the job starts, not what it computes (rules/common.smk): resources,
    # not params, because params are a rerun trigger, and a new interpreter path or warm-worker
    # setting must not re-run finished iterations; `snakemake --lint` allows them in `shell`.
    resources:
        gpu=config["training"]["gpu"],
        mem_mb=config["resources"]["search"]["mem_mb"],
        runtime=config["resources"]["search"]["runtime"],
        job_python=JOB_PYTHON,
        job_client=JOB_CLIENT,
        warm_worker=int(config["execution"]["warm_worker"]),
        warm_worker_idle=str(config["execution"]["warm_worker_idle_seconds"]),
        optuna_mirror=MIRROR_RESULTS,
    params:
        job=iteration_job,
    # scripts/search_iteration.py calls hhnas.jobs.search_iteration, in the warm worker when it
    # is on: a shell command, not `script:`, says why.
    shell:
        "{resources.job_python:q} {resources.job_client:q} {resources.warm_worker} "
        "{resources.warm_worker_idle:q} {resources.optuna_mirror:q} {log:q} {params.job:q}"
