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


#: Generator variants: ``main`` (the ``generate`` params) and the ablations of target ``ablations``.
GENERATE_VARIANTS = ("main", "perceptual", "no_rhythm")


def generator_files(params: dict, run: str, variant: str = "main") -> dict[str, Path]:
    """One training run of the pose-to-audio generator (stage ``train_generate[_<variant>]_<run>``)."""
    models = Paths(params).models / "generate"
    if variant != "main":
        models = models / variant
    return {"checkpoint": models / f"{run}.pt", "live": models / f"{run}_live"}


def generation_results(params: dict, variant: str = "main") -> dict[str, Path]:
    """What stage ``evaluate_generate[_<variant>]`` writes: every number, and the samples the report shows."""
    results = Paths(params).results / "generate"
    if variant != "main":
        results = results / variant
    return {"metrics": results / "evaluation.json", "samples": results / "samples"}
