"""Spread and intervals: mean ± standard deviation over seeds, bootstrap intervals over test queries.

Seeds measure how much a number moves when only the training randomness changes; the
bootstrap over test queries (of the main seed) measures how much it moves with the choice of
test items. A margin between two models on the same queries gets a paired bootstrap: both
models' per-query values are resampled together.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_std(values: Sequence[float]) -> dict:
    """``mean``, ``std`` (sample standard deviation, ddof=1; 0 for one value), ``n`` and the ``values``."""
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "n": int(v.size),
        "values": [float(x) for x in v],
    }


def bootstrap_ci(
    values: np.ndarray, *, draws: int = 2000, level: float = 0.95, seed: int = 0, statistic=np.mean
) -> list[float]:
    """Percentile bootstrap interval of ``statistic`` over resampled ``values`` (Q,)."""
    v = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(draws, v.size))
    stats = statistic(v[idx], axis=1)
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return [float(lo), float(hi)]


def paired_bootstrap_ci(
    a: np.ndarray, b: np.ndarray, *, draws: int = 2000, level: float = 0.95, seed: int = 0
) -> list[float]:
    """Percentile bootstrap interval of mean(a) − mean(b), resampling the same queries for both."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {a.shape} vs {b.shape}")
    return bootstrap_ci(a - b, draws=draws, level=level, seed=seed)


def excludes_zero(interval: Sequence[float]) -> bool:
    return bool(interval[0] > 0 or interval[1] < 0)
