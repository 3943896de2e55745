rule audio_features:
    """Log-mel, MFCC, onset envelope, tempogram, beats and downbeats per music piece."""
    input:
        STAGES["audio_features"].deps,
    output:
        stage_outputs("audio_features"),
    params:
        **STAGES["audio_features"].param_values(config),
    log:
        STAGES["audio_features"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.audio_features --params params.yaml > {log} 2>&1"


rule motion_features:
    """Normalised joints, bones, velocities and kinetic beats per sequence."""
    input:
        STAGES["motion_features"].deps,
    output:
        stage_outputs("motion_features"),
    params:
        **STAGES["motion_features"].param_values(config),
    log:
        STAGES["motion_features"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.motion_features --params params.yaml > {log} 2>&1"
