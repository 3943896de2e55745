# Music–dance alignment pipeline. The DAG is declared once in pipelines/dag.py; the rules
# are generated from it (workflow/rules/stages.smk), and so is dvc.yaml.
#
#   snakemake --cores 8 all      # whole DAG on the dataset chosen in params.yaml
#   snakemake -n all             # what would run
#   snakemake --cores 8 ablations  # MotionBeat's ablations and MCLEMCD's grid (results/<dataset>/ablations/)
#
# The configuration is params.yaml alone, loaded and checked in workflow/rules/common.smk.


include: "workflow/rules/common.smk"
include: "workflow/rules/stages.smk"


rule all:
    default_target: True
    input:
        final_targets(config),


rule ablations:
    input:
        ablation_targets(config),
