"""Run the stages in-process, in DAG order."""

from pipelines import acquire, audio_features, data_report, motion_features, shards, windows

STAGE_MAINS = [acquire.main, audio_features.main, motion_features.main, windows.main, shards.main, data_report.main]


def run_all(params: dict) -> None:
    for main in STAGE_MAINS:
        main(params)
