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
    # scripts/search_iteration.py calls hhnas.jobs.search_iteration, in the warm worker when it
    # is on: a shell command, not `script:`, says why. The upper-case names are rules/common.smk's
    # (how a job starts, never what it computes: Snakemake compares this text, not their values,
    # so changing them re-runs nothing).
    shell:
        '"{JOB_PYTHON}" "{ITERATION_SCRIPT}" {WARM_WORKER} {WARM_WORKER_IDLE} {log:q} {params.job:q}'
