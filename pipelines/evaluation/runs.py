"""Scoring one training run from its embeddings, and its files: what every ``evaluate_*`` stage writes.

:func:`score_run` takes a run's test and training embeddings (whatever the model family) and
writes the protocol of the retrieval stages — retrieval over the windows and
sequences galleries at three relevance levels beside chance, the genre probe, the recall
curve — plus the rhythm metrics (:mod:`pipelines.evaluation.rhythm`) the caller computed.
"""

from __future__ import annotations

import json
import logging

import numpy as np

from ..files import atomic_file
from .classification import genre_probe
from .retrieval import recall_curve, relevance, score_gallery, sequence_means

log = logging.getLogger(__name__)


def score_run(
    params: dict,
    *,
    model_name: str,
    run: dict,
    ckpt: dict,
    out: dict,
    test: tuple[np.ndarray, np.ndarray, list[dict]],
    train: tuple[np.ndarray, np.ndarray, list[dict]],
    rhythm: dict | None = None,
) -> dict:
    """Score and write one run.

    Parameters
    ----------
    params : dict
    model_name : str
    run : dict
        ``seed_index``, ``fold`` and ``name`` of the run.
    ckpt : dict
        The run's checkpoint (its seed, training windows and record are copied).
    out : dict
        :meth:`pipelines.config.Paths.model_files` of the run.
    test, train : tuple
        ``(audio embeddings (N, E), motion embeddings (N, E), window metadata)``.
    rhythm : dict, optional
        Rhythm metrics to store under ``rhythm``.

    Returns
    -------
    dict
        Every number (also written to ``out["evaluation"]``).
    """
    ecfg = params["evaluate"]
    a_test, m_test, test_meta = test
    a_train, m_train, train_meta = train
    meta = [{**m, "id": f"{m['sequence']}@{m['start_frame']}"} for m in test_meta]
    ks, draws, seed = tuple(ecfg["ks"]), ecfg["chance_draws"], params["seed"]
    a_seq, seq_meta = sequence_means(a_test, meta)
    m_seq, _ = sequence_means(m_test, meta)
    train_genre = [m["genre"] for m in train_meta]
    metrics = {
        "model": model_name,
        "seed_index": run["seed_index"],
        "fold": run["fold"],
        "run": run["name"],
        "seed": ckpt["params"]["seed"],
        "dataset": params["dataset"],
        "window_frames": params["train"]["window_frames"],
        "split": "test",
        "train_windows": ckpt["train_windows"],
        "best_epoch": ckpt["record"]["best_epoch"],
        "retrieval": {
            "windows": score_gallery(a_test, m_test, meta, ks=ks, draws=draws, seed=seed),
            "sequences": score_gallery(a_seq, m_seq, seq_meta, ks=ks, draws=draws, seed=seed),
        },
        "genre_probe": {
            "motion": genre_probe(m_train, train_genre, m_test, meta, seed=seed),
            "audio": genre_probe(a_train, train_genre, a_test, meta, seed=seed),
        },
        "rhythm": rhythm or {},
    }
    sim = a_test @ m_test.T
    max_k = min(50, len(meta))
    curve = recall_curve(sim, relevance(meta, meta, key="id"), max_k=max_k)
    chance_curve = np.arange(1, max_k + 1) / len(meta)  # one exact pair per query
    with atomic_file(out["recall_plot"], "w") as fh:
        fh.write("k,recall,chance\n")
        for k, (r, c) in enumerate(zip(curve, chance_curve), start=1):
            fh.write(f"{k},{r:.6f},{c:.6f}\n")
    with atomic_file(out["eval"], "wb") as fh:
        np.savez(
            fh,
            audio=a_test,
            motion=m_test,
            similarity=sim,
            recall=curve,
            recall_chance=chance_curve,
            genre=np.array([m["genre"] for m in meta]),
            piece=np.array([m["piece"] for m in meta]),
            sequence=np.array([m["sequence"] for m in meta]),
            id=np.array([m["id"] for m in meta]),
        )
    with atomic_file(out["evaluation"], "w") as fh:
        json.dump(metrics, fh, indent=2, sort_keys=True)
        fh.write("\n")
    r = metrics["retrieval"]["windows"]["music_to_motion"]
    phase = metrics["rhythm"].get("phase", {})
    log.info(
        "%s %s music->motion windows: exact R@1 %.3f (chance %.3f), piece R@1 %.3f (chance %.3f); "
        "motion genre probe %.3f (chance %.3f); phase top-1 %s",
        model_name,
        run["name"],
        r["exact"]["model"]["R@1"],
        r["exact"]["chance"]["R@1"],
        r["piece"]["model"]["R@1"],
        r["piece"]["chance"]["R@1"],
        metrics["genre_probe"]["motion"]["window_accuracy"],
        metrics["genre_probe"]["motion"]["chance_window"],
        f"{phase['top1']:.3f} (chance {phase['chance']:.3f})" if phase else "-",
    )
    return metrics


#: Training windows the beat-tracking probe is fitted on (a seeded sample).
PROBE_TRAIN_WINDOWS = 300


def probe_sample(n_train: int, *, seed: int) -> np.ndarray:
    """Sorted indices of the training windows the beat-tracking probe is fitted on."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=min(PROBE_TRAIN_WINDOWS, n_train), replace=False))


def rhythm_scores(
    params: dict,
    *,
    a_test: np.ndarray,
    m_test: np.ndarray,
    grid,
    metas: list[dict],
    moved_motion,
    features,
    probe: dict | None,
) -> dict:
    """The rhythm metrics of one run (:mod:`pipelines.evaluation.rhythm`), whatever the model family.

    Parameters
    ----------
    a_test, m_test : np.ndarray, shape (Q, E)
        Test embeddings, music and motion.
    grid : pipelines.features.beat_windows.TokenSet
        The test windows on their beat grid.
    metas : list of dict
        The test windows.
    moved_motion : callable
        ``moved_motion(shift_tokens) -> (embeddings (Q, E), ok (Q,))``: each test window's motion
        moved that many tokens along its beat grid, embedded, and whether the move stayed inside
        the sequence.
    features : pipelines.features.beat_windows.Features
    probe : dict or None
        The arguments of :func:`pipelines.evaluation.rhythm.beat_probe` but ``test_reference``
        and ``seed``; None for a model without per-step music states.
    """
    from ..features.beat_windows import frame_windows, other_dance, probe_reference, probe_reference_label
    from .rhythm import beat_probe, phase_discrimination, retrieved_beat_align

    cfg, seed = params["rhythm"], params["seed"]
    candidates = {}
    for k in cfg["phase_shifts_beats"]:
        moved, ok = moved_motion(int(round(k * cfg["subdivisions"])))
        candidates[f"shift_{k:+g}_beats"] = np.where(ok, np.sum(a_test * moved, axis=1), np.nan)
    other = other_dance(grid, tolerance_bpm=cfg["tempo_tolerance_bpm"], seed=seed)
    candidates["other_dance"] = np.where(other >= 0, np.sum(a_test * m_test[other], axis=1), np.nan)
    own = frame_windows(params, metas, features=features)
    out = {
        "phase": phase_discrimination(np.sum(a_test * m_test, axis=1), candidates),
        "beat_align": retrieved_beat_align(
            a_test @ m_test.T,
            music_beats_s=own["music_beats_s"],
            kinetic_beats_s=own["kinetic_beats_s"],
            sigma_s=params["evaluate"]["beat_align_sigma_s"],
            seed=seed,
        ),
        "beat_probe": None,
    }
    if probe is not None:
        out["beat_probe"] = {
            **beat_probe(**probe, test_reference=probe_reference(params, metas, features=features), seed=seed),
            "reference": probe_reference_label(params),
        }
    return out
