"""Run the stages in-process, in DAG order."""

from pipelines import acquire, audio_features, data_report, mclemcd, motion_features, report, shards, windows
from pipelines.evaluate import evaluate_model
from pipelines.models import MODEL_NAMES
from pipelines.train import train_model

STAGE_MAINS = [acquire.main, audio_features.main, motion_features.main, windows.main, shards.main, data_report.main]


def run_all(params: dict) -> None:
    """The data stages (acquire .. data_report)."""
    for main in STAGE_MAINS:
        main(params)


def run_models(params: dict) -> None:
    """Train and evaluate every model (retrieval models and MCLEMCD), then write the report."""
    for name in MODEL_NAMES:
        train_model(params, name)
        evaluate_model(params, name)
    mclemcd.main(params)
    report.main(params)
