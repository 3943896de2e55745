"""Stage ``evaluate_<model>``: the evaluation protocol every model is scored by.

``python -m pipelines.evaluate --params params.yaml --model {linear,clip,temporal}``

Retrieval, both ways (music→motion and motion→music), over two explicitly defined
galleries built from the **test** split's ``train.window_frames``-frame windows:

- ``windows``: every test window is a query and a gallery item;
- ``sequences``: a sequence's embedding is the mean of its windows' embeddings.

Each is scored at three relevance levels: ``exact`` (the query's own pair), ``piece``
(any item with the same music piece) and ``genre`` (same genre). Metrics are R@K, median
rank of the first relevant item and mAP, with ties counted against the model; every number
is stored beside its chance level (the same metric on random scores, mean of
``evaluate.chance_draws`` seeded draws). When many dancers share a piece, exact-pair
retrieval is capped: several gallery items carry the very same music.

Genre linear probe: a logistic regression on frozen training-split embeddings, scored on
the test windows and per test sequence by majority vote, for the motion and the audio
embeddings; chance is the majority-class rate.

Outputs ``results/<dataset>/metrics/<model>.json`` (DVC metrics),
``results/<dataset>/eval/<model>.npz`` (test embeddings, scores, labels, confusion matrix,
for the report) and ``results/<dataset>/plots/recall_<model>.csv`` (DVC plot).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix

from .config import Paths
from .metrics import chance_retrieval_metrics, recall_curve, retrieval_metrics
from .common import atomic_file, run_stage
from .models import MODEL_NAMES
from .train import embed, load_model, load_windows, model_paths

log = logging.getLogger(__name__)
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


def score_gallery(audio: np.ndarray, motion: np.ndarray, meta: list[dict], *, ks: tuple[int, ...], draws: int,
                  seed: int) -> dict:
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


def genre_probe(train_emb: np.ndarray, train_genre: list[str], test_emb: np.ndarray, test_meta: list[dict],
                *, seed: int) -> dict:
    """Logistic regression on frozen embeddings: window and sequence (majority vote) accuracy."""
    labels = sorted(set(train_genre) | {m["genre"] for m in test_meta})
    clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    y_test = np.array([m["genre"] for m in test_meta])
    if len(set(train_genre)) < 2:
        pred = np.array([train_genre[0]] * len(test_meta))
    else:
        clf.fit(train_emb, np.array(train_genre))
        pred = clf.predict(test_emb)
    votes: dict[str, list[str]] = {}
    for p, m in zip(pred, test_meta):
        votes.setdefault(m["sequence"], []).append(p)
    seq_true = {m["sequence"]: m["genre"] for m in test_meta}
    seq_pred = {s: max(sorted(set(v)), key=v.count) for s, v in votes.items()}
    majority = max(sorted(set(train_genre)), key=train_genre.count)  # ties: first genre by name
    return {
        "window_accuracy": float(np.mean(pred == y_test)),
        "sequence_accuracy": float(np.mean([seq_pred[s] == seq_true[s] for s in seq_true])),
        "chance_window": float(np.mean(y_test == majority)),
        "chance_sequence": float(np.mean([seq_true[s] == majority for s in seq_true])),
        "chance_uniform": 1.0 / len(labels),
        "labels": labels,
        "confusion": confusion_matrix(y_test, pred, labels=labels).tolist(),
        "test_windows": int(len(y_test)), "test_sequences": len(seq_true),
    }


def evaluate_model(params: dict, model_name: str) -> dict:
    ecfg, tcfg = params["evaluate"], params["train"]
    paths, out = Paths(params), model_paths(params, model_name)
    model, ckpt = load_model(out["checkpoint"])
    W = tcfg["window_frames"]
    train = load_windows(paths.shard_file(W, "train"))
    test = load_windows(paths.shard_file(W, "test"))
    device = torch.device("cpu")
    a_test, m_test = (t.numpy() for t in embed(model, test["audio"], test["motion"], device=device))
    a_train, m_train = (t.numpy() for t in embed(model, train["audio"], train["motion"], device=device))
    meta = [{**m, "id": f"{m['sequence']}@{m['start_frame']}"} for m in test["meta"]]
    ks = tuple(ecfg["ks"])
    draws, seed = ecfg["chance_draws"], params["seed"]
    a_seq, seq_meta = sequence_means(a_test, meta)
    m_seq, _ = sequence_means(m_test, meta)
    train_genre = [m["genre"] for m in train["meta"]]
    metrics = {
        "model": model_name, "dataset": params["dataset"], "window_frames": W, "split": "test",
        "train_windows": ckpt["train_windows"], "best_epoch": ckpt["record"]["best_epoch"],
        "retrieval": {"windows": score_gallery(a_test, m_test, meta, ks=ks, draws=draws, seed=seed),
                      "sequences": score_gallery(a_seq, m_seq, seq_meta, ks=ks, draws=draws, seed=seed)},
        "genre_probe": {"motion": genre_probe(m_train, train_genre, m_test, meta, seed=seed),
                        "audio": genre_probe(a_train, train_genre, a_test, meta, seed=seed)},
    }
    sim = a_test @ m_test.T
    max_k = min(50, len(meta))
    exact = relevance(meta, meta, key="id")
    curve = recall_curve(sim, exact, max_k=max_k)
    chance_curve = np.arange(1, max_k + 1) / len(meta)  # one exact pair per query
    with atomic_file(out["recall_plot"], "w") as fh:
        fh.write("k,recall,chance\n")
        for k, (r, c) in enumerate(zip(curve, chance_curve), start=1):
            fh.write(f"{k},{r:.6f},{c:.6f}\n")
    with atomic_file(out["eval"], "wb") as fh:
        np.savez(fh, audio=a_test, motion=m_test, similarity=sim, recall=curve, recall_chance=chance_curve,
                 genre=np.array([m["genre"] for m in meta]), piece=np.array([m["piece"] for m in meta]),
                 sequence=np.array([m["sequence"] for m in meta]))
    with atomic_file(out["metrics"], "w") as fh:
        json.dump(metrics, fh, indent=2, sort_keys=True)
        fh.write("\n")
    r = metrics["retrieval"]["windows"]["music_to_motion"]
    log.info("%s music->motion windows: exact R@1 %.3f (chance %.3f), piece R@1 %.3f (chance %.3f); "
             "motion genre probe %.3f (chance %.3f)", model_name, r["exact"]["model"]["R@1"],
             r["exact"]["chance"]["R@1"], r["piece"]["model"]["R@1"], r["piece"]["chance"]["R@1"],
             metrics["genre_probe"]["motion"]["window_accuracy"], metrics["genre_probe"]["motion"]["chance_window"])
    return metrics


if __name__ == "__main__":
    raise SystemExit(run_stage(evaluate_model, __doc__.splitlines()[0], models=MODEL_NAMES))
