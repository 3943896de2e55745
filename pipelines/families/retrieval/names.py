"""The retrieval family's model names and runs, without importing torch (the DAG reads them)."""

from __future__ import annotations

from ...config import runs

#: The retrieval models, one ``train_<model>_<run>`` and ``evaluate_<model>_<run>`` stage each.
RETRIEVAL_MODELS = ("linear", "clip", "temporal")
#: Retrieval models trained by gradient descent (they write dvclive curves).
LEARNED = ("clip", "temporal")
#: Models whose training uses no randomness: one run stands for every seed.
DETERMINISTIC = ("linear",)
#: The baseline every model scored by the retrieval protocol is compared with.
BASELINE = "linear"
#: Params of the rhythm protocol every retrieval evaluation scores (:mod:`pipelines.evaluation.rhythm`):
#: the ``rhythm`` section's token grid, so that every model is scored on the same beats.
RHYTHM_PARAMS = [
    "evaluate.beat_align_sigma_s",
    "rhythm",
]


def model_runs(params: dict, model: str) -> list[dict]:
    """The training runs of a retrieval model (:func:`pipelines.config.runs`)."""
    return runs(params, deterministic=model in DETERMINISTIC)
