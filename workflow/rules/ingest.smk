# YouTube ingestion (dataset: youtube): clip list -> clips -> pose, stems -> EnCodec codes.
# Each rule's output is a summary file; the per-clip results stay in the clip folders, so a
# rerun redoes only the clips whose stage params changed. Pose (MediaPipe) and the Spleeter
# backend need their own environments: started from the main one, the stage builds
# .venv-pose / .venv-spleeter with `make` and re-runs itself there; with --sdm conda the
# rule's conda environment already has them.
# EnCodec and the neural stem backends declare gpu=1, so a cluster profile can send them to
# CUDA nodes (locally the resource is not limited and they run on the CPU).

if "youtube_clips" in STAGES:

    rule youtube_clips:
        """Download (yt-dlp) or read the listed videos and cut them into 5-s clips."""
        input:
            STAGES["youtube_clips"].deps,
        output:
            stage_outputs("youtube_clips"),
        params:
            **STAGES["youtube_clips"].param_values(config),
        log:
            STAGES["youtube_clips"].log,
        conda:
            "../envs/pipeline.yaml"
        shell:
            "python -m pipelines.youtube --params params.yaml > {log} 2>&1"

    rule pose:
        """MediaPipe Pose on every clip (its own environment, .venv-pose)."""
        input:
            STAGES["pose"].deps,
        output:
            stage_outputs("pose"),
        params:
            **STAGES["pose"].param_values(config),
        log:
            STAGES["pose"].log,
        conda:
            "../envs/pose.yaml"
        shell:
            "python -m pipelines.pose --params params.yaml > {log} 2>&1"

    rule stems:
        """Drum and bass stems of every clip (hpss, demucs or spleeter)."""
        input:
            STAGES["stems"].deps,
        output:
            stage_outputs("stems"),
        params:
            **STAGES["stems"].param_values(config),
        log:
            STAGES["stems"].log,
        conda:
            f"../envs/{'spleeter' if config['stems']['backend'] == 'spleeter' else 'pipeline'}.yaml"
        resources:
            gpu=int(STAGES["stems"].gpu),
        shell:
            "python -m pipelines.stems --params params.yaml > {log} 2>&1"

    rule encodec:
        """EnCodec codes of every clip's drum+bass stem."""
        input:
            STAGES["encodec"].deps,
        output:
            stage_outputs("encodec"),
        params:
            **STAGES["encodec"].param_values(config),
        log:
            STAGES["encodec"].log,
        conda:
            "../envs/pipeline.yaml"
        resources:
            gpu=int(STAGES["encodec"].gpu),
        shell:
            "python -m pipelines.encodec_codes --params params.yaml > {log} 2>&1"
