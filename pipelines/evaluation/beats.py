"""Beat metrics: beat-tracking F-measure and BeatAlign (music beats against kinetic beats).

BeatAlign follows Bailando (Li et al., CVPR 2022; ``utils/beat_align_score.py`` in its code):
the mean over music beats of ``exp(-d² / (2σ²))``, ``d`` the distance to the nearest kinetic
beat. Bailando computes it on 60 fps features with ``d`` in frames and divides by ``2 · 9``,
so ``σ = 3 frames = 0.05 s``, the default here (``evaluate.beat_align_sigma_s``). EDGE
(Tseng et al., CVPR 2023) reports BeatAlign by Bailando's definition; its released
evaluation code computes only PFC.
"""

from __future__ import annotations

import numpy as np

#: Bailando's σ: 3 frames at 60 fps, seconds.
BAILANDO_SIGMA_S = 3 / 60


def beat_f_measure(*, estimated_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float = 0.07) -> float:
    """F-measure of estimated beat times against reference beat times (MIREX style).

    Each reference beat can be matched by at most one estimate within ``tolerance_s``
    seconds (greedy in time order). Returns 0 when either list is empty.
    """
    est, ref = np.sort(np.asarray(estimated_s, float)), np.sort(np.asarray(reference_s, float))
    if est.size == 0 or ref.size == 0:
        return 0.0
    used = np.zeros(est.size, bool)
    hits = 0
    for r in ref:
        d = np.abs(est - r)
        d[used] = np.inf
        j = int(np.argmin(d))
        if d[j] <= tolerance_s:
            used[j] = True
            hits += 1
    precision, recall = hits / est.size, hits / ref.size
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def beat_align_score(
    *, music_beats_s: np.ndarray, kinetic_beats_s: np.ndarray, sigma_s: float = BAILANDO_SIGMA_S
) -> float:
    """BeatAlign: mean over music beats of exp(-d² / 2σ²), d = distance (s) to the nearest
    kinetic beat; ``sigma_s`` is σ in seconds (default Bailando's 0.05 s, see the module
    docstring). Returns 0 when either list is empty."""
    m, k = np.asarray(music_beats_s, float), np.asarray(kinetic_beats_s, float)
    if m.size == 0 or k.size == 0:
        return 0.0
    d = np.abs(m[:, None] - k[None, :]).min(axis=1)
    return float(np.mean(np.exp(-(d**2) / (2 * sigma_s**2))))
