from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/features.smk"
include: "rules/search.smk"
include: "rules/compare.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
