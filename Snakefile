# FORGE: Factorization Of Response and Gene Essentiality.
# Thin entry point: configuration, rule files, default target. workflow/Snakefile includes this
# file (the entry the workflow catalog and snakedeploy expect); every path below resolves
# relative to this file, the config file relative to the working directory.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/tahoe.smk"
include: "workflow/rules/pdx.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/validation.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        stage_outputs(),
        all_outputs,
