"""Rhythm metrics of a music–motion model, the same protocol for every model:

- **phase discrimination**: for each test window, the music's similarity to its true motion
  against the same dance moved by ``rhythm.phase_shifts_beats`` beats along its beat grid
  (the music kept) and against a different dance at the same tempo (another test piece within
  ± ``rhythm.tempo_tolerance_bpm``). Top-1 accuracy (ties count against the
  model; a candidate that would leave its sequence is left out) beside chance (1 / candidates),
  and per shift the share of windows where the true motion beats that candidate (chance 0.5).
- **beat-tracking probe**: a logistic regression on frozen per-step music states (per token for
  MotionBeat, per conv step for the temporal baseline; pooled models have none) predicting
  whether a reference beat falls in the step, trained on training windows and decoded on the
  test windows (one beat per run of steps above 0.5, at its most probable step); F-measure at
  ±70 ms per test window against the reference beats (ground truth on synthetic data, else the
  project's librosa beats: labelled in the output), beside chance (a beat grid at the window's
  true tempo with a random phase).
- **retrieved BeatAlign**: BeatAlign (:func:`pipelines.evaluation.beats.beat_align_score`) of
  the music query's beats against the kinetic beats of the motion ranked first, beside the true
  pair's and a random pair's.
"""

from __future__ import annotations

import numpy as np

from .beats import beat_align_score, beat_f_measure


def phase_discrimination(true: np.ndarray, candidates: dict[str, np.ndarray]) -> dict:
    """Top-1 accuracy of the true motion among its candidates.

    Parameters
    ----------
    true : np.ndarray, shape (Q,)
        Similarity of each music query to its true motion.
    candidates : dict of str -> np.ndarray, shape (Q,)
        Similarity to each candidate (a shift, ``other_dance``), NaN where it does not exist.

    Returns
    -------
    dict
        ``top1``, ``correct`` (per query, 0/1), ``chance`` (mean of 1 / (1 + candidates present)), ``queries`` and
        ``pairwise``: per candidate the share of queries (where it exists) the true motion beats.
    """
    C = np.stack(list(candidates.values()), axis=1)  # (Q, K)
    present = np.isfinite(C)
    beaten = np.where(present, true[:, None] > C, True)
    correct = beaten.all(axis=1)
    return {
        "top1": float(np.mean(correct)),
        "correct": correct.astype(int).tolist(),
        "chance": float(np.mean(1.0 / (1 + present.sum(axis=1)))),
        "queries": int(true.size),
        "pairwise": {
            name: float(np.mean(true[present[:, k]] > C[present[:, k], k])) if present[:, k].any() else None
            for k, name in enumerate(candidates)
        },
    }


def decode_beats(prob: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Beat positions from per-step probabilities: one per run of steps above 0.5, at its maximum."""
    above = prob > 0.5
    out, k = [], 0
    while k < prob.size:
        if above[k]:
            j = k
            while j + 1 < prob.size and above[j + 1]:
                j += 1
            out.append(positions[k + int(np.argmax(prob[k : j + 1]))])
            k = j + 1
        else:
            k += 1
    return np.asarray(out, dtype=np.float64)


def beat_probe(
    *,
    train_states: list[np.ndarray],
    train_targets: list[np.ndarray],
    test_states: list[np.ndarray],
    test_positions: list[np.ndarray],
    test_reference: list[np.ndarray],
    seed: int,
    max_rows: int = 40000,
) -> dict:
    """Fit the probe on training steps and score beat tracking on the test windows.

    Parameters
    ----------
    train_states, test_states : list of np.ndarray, shape (steps_i, D)
        Frozen per-step music states of each window.
    train_targets : list of np.ndarray, shape (steps_i,)
        1 where a reference beat falls in the step.
    test_positions : list of np.ndarray, shape (steps_i,)
        Each test step's time, s (from the window's start).
    test_reference : list of np.ndarray
        Reference beat times of each test window, s, same origin.
    seed : int
    max_rows : int
        Training steps used at most (a seeded subsample).

    Returns
    -------
    dict
        ``f_measure`` (mean over test windows), ``per_window``, ``chance`` and ``windows``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = np.concatenate(train_states), np.concatenate(train_targets).astype(int)
    rng = np.random.default_rng(seed)
    if X.shape[0] > max_rows:
        keep = rng.choice(X.shape[0], size=max_rows, replace=False)
        X, y = X[keep], y[keep]
    if y.min() == y.max():
        return {"f_measure": None, "chance": None, "windows": len(test_states), "note": "one class only"}
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced"))
    probe.fit(X, y)
    scores, chance = [], []
    for states, pos, ref in zip(test_states, test_positions, test_reference):
        est = decode_beats(probe.predict_proba(states)[:, 1], pos)
        scores.append(beat_f_measure(estimated_s=est, reference_s=ref))
        chance.append(_grid_chance(ref, span=(pos[0], pos[-1]), rng=rng))
    return {
        "f_measure": float(np.mean(scores)),
        "per_window": [round(x, 6) for x in scores],
        "chance": float(np.mean(chance)),
        "windows": len(scores),
    }


def _grid_chance(ref: np.ndarray, *, span: tuple[float, float], rng: np.random.Generator, draws: int = 20) -> float:
    """F-measure of a beat grid at the reference's median period with a uniform random phase."""
    if ref.size < 2:
        return 0.0
    period = float(np.median(np.diff(ref)))
    out = []
    for _ in range(draws):
        grid = np.arange(span[0] + rng.uniform(0, period), span[1] + 1e-9, period)
        out.append(beat_f_measure(estimated_s=grid, reference_s=ref))
    return float(np.mean(out))


def retrieved_beat_align(
    similarity: np.ndarray,
    *,
    music_beats_s: list[np.ndarray],
    kinetic_beats_s: list[np.ndarray],
    sigma_s: float,
    seed: int,
) -> dict:
    """BeatAlign of each music query against its top-ranked motion, its true motion and a random one.

    ``similarity`` is (Q, Q) music × motion over the same windows (query ``i``'s true motion is
    ``i``); beat times are per window, s from the window's start.
    """
    top = np.argmax(similarity, axis=1)
    rand = np.random.default_rng(seed).integers(0, similarity.shape[1], size=similarity.shape[0])

    def score(pick: np.ndarray) -> float:
        return float(
            np.mean(
                [
                    beat_align_score(music_beats_s=mb, kinetic_beats_s=kinetic_beats_s[j], sigma_s=sigma_s)
                    for mb, j in zip(music_beats_s, pick)
                ]
            )
        )

    return {"retrieved": score(top), "true_pair": score(np.arange(similarity.shape[0])), "random_pair": score(rand)}
