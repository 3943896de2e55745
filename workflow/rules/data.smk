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


if "download_aistpp" in STAGES:

    rule download_aistpp:
        """Fetch the AIST++ annotation archives and music (resumable, verified)."""
        input:
            STAGES["download_aistpp"].deps,
        output:
            stage_outputs("download_aistpp"),
        params:
            **STAGES["download_aistpp"].param_values(config),
        log:
            STAGES["download_aistpp"].log,
        conda:
            "../envs/pipeline.yaml"
        shell:
            "python -m pipelines.download_aistpp --params params.yaml > {log} 2>&1"
