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
