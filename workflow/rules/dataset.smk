rule windows:
    """Aligned (motion, audio) windows of each configured length, with splits."""
    input:
        STAGES["windows"].deps,
    output:
        stage_outputs("windows"),
    params:
        **STAGES["windows"].param_values(config),
    log:
        STAGES["windows"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.windows --params params.yaml > {log} 2>&1"


rule shards:
    """Chunked, compressed HDF5 shards per window length and split, with a checksum manifest."""
    input:
        STAGES["shards"].deps,
    output:
        stage_outputs("shards"),
    params:
        **STAGES["shards"].param_values(config),
    log:
        STAGES["shards"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.shards --params params.yaml > {log} 2>&1"
