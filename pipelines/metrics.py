"""Beat metrics shared by the data report and the evaluation stages."""

from __future__ import annotations

import numpy as np


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


def beat_align_score(*, music_beats_s: np.ndarray, kinetic_beats_s: np.ndarray, sigma_s: float = 0.1) -> float:
    """BeatAlign (Bailando): mean over music beats of exp(-d² / 2σ²), d = distance (s) to
    the nearest kinetic beat. ``sigma_s`` is σ in seconds (Bailando uses 3 frames at 30 fps
    = 0.1 s). Returns 0 when either list is empty."""
    m, k = np.asarray(music_beats_s, float), np.asarray(kinetic_beats_s, float)
    if m.size == 0 or k.size == 0:
        return 0.0
    d = np.abs(m[:, None] - k[None, :]).min(axis=1)
    return float(np.mean(np.exp(-d ** 2 / (2 * sigma_s ** 2))))


# ---------------------------------------------------------------- retrieval
def pessimistic_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every gallery item for every query, ties counted against the item.

    Parameters
    ----------
    scores : np.ndarray, shape (Q, G)
        Similarity of query q to gallery item g (higher is better).

    Returns
    -------
    np.ndarray, shape (Q, G), int
        ``1 + #{items scoring higher} + #{other items scoring the same}``, so a constant
        score ranks every item last and earns no credit.
    """
    s = np.asarray(scores, dtype=np.float64)
    order = np.sort(s, axis=1)  # ascending
    G = s.shape[1]
    # number of items with score >= s[q, g] (including itself)
    ge = G - np.stack([np.searchsorted(order[q], s[q], side="left") for q in range(s.shape[0])])
    return ge.astype(np.int64)


def retrieval_metrics(scores: np.ndarray, relevant: np.ndarray, *, ks: tuple[int, ...] = (1, 5, 10)) -> dict:
    """Recall@K, median rank and mean average precision of a retrieval.

    Parameters
    ----------
    scores : np.ndarray, shape (Q, G)
        Similarities, higher is better.
    relevant : np.ndarray, shape (Q, G), bool
        Which gallery items count as correct for each query (each query needs at least one).
    ks : tuple of int
        The K of Recall@K.

    Returns
    -------
    dict
        ``R@K`` (fraction of queries with a relevant item in the top K), ``median_rank``
        (median over queries of the best rank of a relevant item), ``mAP`` (mean over
        queries of the precision averaged over the ranks of all relevant items).
    """
    rel = np.asarray(relevant, dtype=bool)
    if rel.shape != np.shape(scores):
        raise ValueError(f"scores {np.shape(scores)} and relevant {rel.shape} differ in shape")
    if not rel.any(axis=1).all():
        raise ValueError("every query needs at least one relevant gallery item")
    ranks = pessimistic_ranks(scores)
    best = np.where(rel, ranks, np.iinfo(np.int64).max).min(axis=1)
    out = {f"R@{k}": float(np.mean(best <= k)) for k in ks}
    out["median_rank"] = float(np.median(best))
    aps = []
    for q in range(rel.shape[0]):
        r = np.sort(ranks[q, rel[q]])
        hits = np.array([np.sum(r <= x) for x in r])  # relevant items at or above each relevant rank
        aps.append(float(np.mean(hits / r)))
    out["mAP"] = float(np.mean(aps))
    return out


def chance_retrieval_metrics(relevant: np.ndarray, *, ks: tuple[int, ...] = (1, 5, 10), draws: int = 200,
                             seed: int = 0) -> dict:
    """The same metrics for random scores: the mean over ``draws`` random rankings (seeded)."""
    rng = np.random.default_rng(seed)
    runs = [retrieval_metrics(rng.random(np.shape(relevant)), relevant, ks=ks) for _ in range(draws)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def recall_curve(scores: np.ndarray, relevant: np.ndarray, *, max_k: int) -> np.ndarray:
    """Recall@K for K = 1..max_k, shape (max_k,)."""
    ranks = pessimistic_ranks(scores)
    best = np.where(np.asarray(relevant, bool), ranks, np.iinfo(np.int64).max).min(axis=1)
    return np.array([np.mean(best <= k) for k in range(1, max_k + 1)])
