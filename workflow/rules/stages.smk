# Every rule is generated from the stage declarations in pipelines/dag.py: command, inputs
# (code the stage imports, environment files, data), outputs, params, threads, resources
# (gpu, and the SLURM partition from params.yaml's `cluster` section), conda environment and
# log. Adding a stage is one declaration there.
# Snakemake evaluates a rule's shell command when the job runs, after this loop has ended,
# so the command reaches it through params (which are bound here, per rule), never through
# the loop variable.

for stage in STAGES.values():

    rule:
        name:
            stage.name
        input:
            stage.deps,
        output:
            stage_outputs(stage),
        log:
            stage.log,
        conda:
            f"../envs/{stage.env}.yaml"
        threads: stage.threads
        resources:
            **slurm_partition(stage),
            gpu=int(stage.gpu),
        params:
            **stage.param_values(config),
            cmd=stage.cmd,
        shell:
            "{params.cmd} > {log} 2>&1"
