rule acquire:
    """Generate (synthetic) or index (aistpp, musictodance) the dataset's sequences."""
    input:
        STAGES["acquire"].deps,
    output:
        stage_outputs("acquire"),
    params:
        **STAGES["acquire"].param_values(config),
    log:
        STAGES["acquire"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.acquire --params params.yaml > {log} 2>&1"
