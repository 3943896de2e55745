"""Where dance to music's files go (issue #12). Beside :class:`pipelines.config.Paths`, which every
stage imports, so that adding the generation stages leaves the other stages' code dependencies alone."""

from __future__ import annotations

from pathlib import Path

from ..config import Paths


def tokenizer_files(params: dict) -> dict[str, Path]:
    """The offline tokenizer fitted by stage ``fit_tokenizer``, and its metrics."""
    paths = Paths(params)
    return {
        "tokenizer": paths.models / "generate" / "tokenizer.npz",
        "metrics": paths.results / "generate" / "tokenizer.json",
    }


def generator_files(params: dict, run: str) -> dict[str, Path]:
    """One training run of the pose-to-audio generator (stage ``train_generate_<run>``)."""
    models = Paths(params).models / "generate"
    return {"checkpoint": models / f"{run}.pt", "live": models / f"{run}_live"}


def generation_results(params: dict) -> dict[str, Path]:
    """What stage ``evaluate_generate`` writes: every number, and the samples the report shows."""
    results = Paths(params).results / "generate"
    return {"metrics": results / "evaluation.json", "samples": results / "samples"}
