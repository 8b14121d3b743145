from snakemake.utils import min_version

min_version("9.0")


# The defaults live beside this file, so `snakemake -s PATH/Snakefile` (or --directory) from a
# data folder reads them too; --configfile files given there merge over them.
configfile: f"{workflow.basedir}/config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/features.smk"
include: "rules/search.smk"
include: "rules/final.smk"
include: "rules/compare.smk"
include: "rules/study.smk"
include: "rules/report.smk"
include: "rules/finish.smk"


rule all:
    default_target: True
    input:
        "results/report.html",
