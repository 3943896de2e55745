# Music–dance alignment pipeline. The DAG is declared once in pipelines/dag.py; the rules
# below take their inputs, outputs and params from it, and dvc.yaml is generated from it.
#
#   snakemake --cores 8 all      # whole DAG on the dataset chosen in params.yaml
#   snakemake -n all             # what would run


configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_targets(config),
    default_target: True
