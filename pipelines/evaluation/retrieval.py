"""Retrieval metrics (ranks with ties against the model, R@K, median rank, mAP, chance) and the
galleries and relevance levels of the evaluation protocol (see the retrieval stages)."""

from __future__ import annotations

import numpy as np


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


def per_query_metrics(scores: np.ndarray, relevant: np.ndarray, *, ks: tuple[int, ...] = (1, 5, 10)) -> dict:
    """The per-query values behind :func:`retrieval_metrics` (for bootstrap intervals).

    Returns
    -------
    dict of np.ndarray, shape (Q,)
        ``R@K`` (1.0 where a relevant item is in the top K, else 0.0), ``rank`` (best rank of
        a relevant item) and ``AP`` (average precision over the ranks of all relevant items).
    """
    rel = np.asarray(relevant, dtype=bool)
    if rel.shape != np.shape(scores):
        raise ValueError(f"scores {np.shape(scores)} and relevant {rel.shape} differ in shape")
    if not rel.any(axis=1).all():
        raise ValueError("every query needs at least one relevant gallery item")
    ranks = pessimistic_ranks(scores)
    best = np.where(rel, ranks, np.iinfo(np.int64).max).min(axis=1)
    out = {f"R@{k}": (best <= k).astype(np.float64) for k in ks}
    out["rank"] = best.astype(np.float64)
    aps = []
    for q in range(rel.shape[0]):
        r = np.sort(ranks[q, rel[q]])
        hits = np.array([np.sum(r <= x) for x in r])  # relevant items at or above each relevant rank
        aps.append(float(np.mean(hits / r)))
    out["AP"] = np.array(aps)
    return out


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
    q = per_query_metrics(scores, relevant, ks=ks)
    out = {f"R@{k}": float(np.mean(q[f"R@{k}"])) for k in ks}
    out["median_rank"] = float(np.median(q["rank"]))
    out["mAP"] = float(np.mean(q["AP"]))
    return out


def chance_retrieval_metrics(
    relevant: np.ndarray, *, ks: tuple[int, ...] = (1, 5, 10), draws: int = 200, seed: int = 0
) -> dict:
    """The same metrics for random scores: the mean over ``draws`` random rankings (seeded)."""
    rng = np.random.default_rng(seed)
    runs = [retrieval_metrics(rng.random(np.shape(relevant)), relevant, ks=ks) for _ in range(draws)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def recall_curve(scores: np.ndarray, relevant: np.ndarray, *, max_k: int) -> np.ndarray:
    """Recall@K for K = 1..max_k, shape (max_k,)."""
    ranks = pessimistic_ranks(scores)
    best = np.where(np.asarray(relevant, bool), ranks, np.iinfo(np.int64).max).min(axis=1)
    return np.array([np.mean(best <= k) for k in range(1, max_k + 1)])


# ---------------------------------------------------------------- galleries and relevance
LEVELS = ("exact", "piece", "genre")


def relevance(query_meta: list[dict], gallery_meta: list[dict], *, key: str) -> np.ndarray:
    """(Q, G) bool: gallery items sharing ``key`` with the query (``key='id'`` for the exact pair)."""
    q = np.array([m[key] for m in query_meta])
    g = np.array([m[key] for m in gallery_meta])
    return q[:, None] == g[None, :]


def sequence_means(emb: np.ndarray, meta: list[dict]) -> tuple[np.ndarray, list[dict]]:
    """Mean (re-normalised) embedding per sequence, in first-seen order."""
    order = list(dict.fromkeys(m["sequence"] for m in meta))
    out, out_meta = [], []
    for s in order:
        idx = [i for i, m in enumerate(meta) if m["sequence"] == s]
        v = emb[idx].mean(axis=0)
        out.append(v / max(np.linalg.norm(v), 1e-12))
        first = meta[idx[0]]
        out_meta.append({"id": s, "sequence": s, "piece": first["piece"], "genre": first["genre"]})
    return np.stack(out), out_meta


def identical_music_ceiling(meta: list[dict], *, ks: tuple[int, ...]) -> dict:
    """Best exact-pair R@K any model can reach when gallery items carry the very same music
    (same piece, same music start frame) and so cannot be told apart: mean of min(1, K / c)
    where c counts the items sharing the query's music."""
    keys = [(m["piece"], m.get("audio_start_frame", m["id"])) for m in meta]
    counts = {k: keys.count(k) for k in set(keys)}
    c = np.array([counts[k] for k in keys], dtype=float)
    return {f"R@{k}": float(np.mean(np.minimum(1.0, k / c))) for k in ks}


def score_gallery(
    audio: np.ndarray, motion: np.ndarray, meta: list[dict], *, ks: tuple[int, ...], draws: int, seed: int
) -> dict:
    """Retrieval metrics both ways at every relevance level, with chance."""
    sim = audio @ motion.T  # music query (rows) x motion gallery (columns)
    result = {"size": len(meta)}
    for direction, scores in (("music_to_motion", sim), ("motion_to_music", sim.T)):
        result[direction] = {}
        for level in LEVELS:
            rel = relevance(meta, meta, key={"exact": "id", "piece": "piece", "genre": "genre"}[level])
            result[direction][level] = {
                "model": retrieval_metrics(scores, rel, ks=ks),
                "chance": chance_retrieval_metrics(rel, ks=ks, draws=draws, seed=seed),
                "relevant_per_query": float(rel.sum(axis=1).mean()),
            }
        result[direction]["exact"]["ceiling"] = identical_music_ceiling(meta, ks=ks)
    return result
