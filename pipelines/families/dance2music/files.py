"""Where dance to music's files go: the tokenizer, each variant's runs and evaluation."""

from __future__ import annotations

from pathlib import Path

from ...config import Paths


def tokenizer_files(params: dict) -> dict[str, Path]:
    """The offline tokenizer fitted by stage ``fit_dance2music_tokenizer``, and its metrics."""
    paths = Paths(params)
    return {
        "tokenizer": paths.models / "dance2music" / "tokenizer.npz",
        "metrics": paths.results / "dance2music" / "tokenizer.json",
    }


def generator_files(params: dict, run: str, variant: str = "main") -> dict[str, Path]:
    """One training run of the pose-to-audio generator (stage ``train_dance2music[_<variant>]_<run>``)."""
    models = Paths(params).models / "dance2music"
    if variant != "main":
        models = models / variant
    return {"checkpoint": models / f"{run}.pt", "live": models / f"{run}_live"}


def generation_results(params: dict, variant: str = "main") -> dict[str, Path]:
    """What stage ``evaluate_dance2music[_<variant>]`` writes: every number, and the samples the report shows."""
    results = Paths(params).results / "dance2music"
    if variant != "main":
        results = results / variant
    return {"metrics": results / "evaluation.json", "samples": results / "samples"}
