"""Evaluation protocols over windows: the dataset's own splits, or dance-grouped, genre-stratified
k-fold cross-validation for small real sets.

A *group* is a window's music piece: for MusicToDance and YouTube every dance has its own music,
so a group is a dance; for AIST++ several dancers share a piece, and grouping by piece keeps
the same music out of both training and test. :func:`kfold_assignment` deals the groups of each
genre to the folds in turn (in a seeded, name-stable order), continuing the count from one genre
to the next, so every fold gets a share of every genre that has enough groups and the folds
differ in size by at most one group. :func:`fold_roles` turns fold ``f`` into train / val / test
windows: test is fold ``f``; val is ``val_fraction`` of the remaining groups (at least one;
picked by the same seeded order); train is the rest.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..files import stable_hash


def kfold_assignment(meta: list[dict], *, folds: int, seed: int) -> dict[str, int]:
    """Fold (0 … ``folds`` − 1) of every group (piece) in ``meta``, stratified by genre."""
    genre_of: dict[str, str] = {}
    for m in meta:
        genre_of.setdefault(m["piece"], m["genre"])
    if len(genre_of) < folds:
        raise InputError("evaluate.folds", f"{folds} folds need at least {folds} dances/pieces, found {len(genre_of)}")
    out, dealt = {}, 0
    for genre in sorted(set(genre_of.values())):
        groups = sorted((g for g, gg in genre_of.items() if gg == genre), key=lambda g: (stable_hash(f"{seed}:{g}"), g))
        for g in groups:
            out[g] = dealt % folds
            dealt += 1
    return out


def fold_roles(meta: list[dict], *, fold: int, folds: int, seed: int, val_fraction: float) -> np.ndarray:
    """Role of every window for fold ``fold``: an array of ``"train"``, ``"val"`` or ``"test"``."""
    assign = kfold_assignment(meta, folds=folds, seed=seed)
    rest = sorted({g for g, f in assign.items() if f != fold}, key=lambda g: (stable_hash(f"{seed}:val:{g}"), g))
    n_val = max(1, int(round(val_fraction * len(rest))))
    if len(rest) - n_val < 1:
        raise InputError(
            "evaluate.folds", f"fold {fold}: {len(rest)} groups outside the test fold, too few for val and train"
        )
    val = set(rest[:n_val])
    return np.array(["test" if assign[m["piece"]] == fold else "val" if m["piece"] in val else "train" for m in meta])
