"""Stage ``evaluate_<model>``: the evaluation protocol every model is scored by.

``python -m pipelines.stages.evaluate --params params.yaml --model {linear,clip,temporal} --seed-index K``

Scores training run K (stage ``evaluate_<model>_seed<K>``); stage ``summarize`` gathers the runs.

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
the test windows and per test sequence by majority vote (:func:`pipelines.evaluation.classification.vote`), for the motion and the audio
embeddings; chance is the majority-class rate.

Outputs ``results/<dataset>/evaluation/<model>/seed<K>.json`` (every number),
``results/<dataset>/evaluation/<model>/seed<K>.npz`` (for the report: the test windows' ``audio`` and
``motion`` embeddings, their ``similarity`` matrix, the exact-pair ``recall`` curve and its
``recall_chance``, and each window's ``genre``, ``piece`` and ``sequence``, ``id``) and ``results/<dataset>/plots/recall_<model>_seed<K>.csv`` (a DVC plot).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import torch

from ..cli import run_stage
from ..config import Paths, run_name
from ..evaluation.classification import genre_probe
from ..evaluation.retrieval import recall_curve, relevance, score_gallery, sequence_means
from ..files import atomic_file
from ..models.registry import RETRIEVAL_MODELS
from ..models.retrieval import embed, model_from_checkpoint, run_windows
from ..training.checkpoint import load_checkpoint

log = logging.getLogger(__name__)


def evaluate_model(params: dict, model_name: str, *, seed_index: int = 0, fold: int | None = None) -> dict:
    """Score one run of ``model_name`` on its test windows (the test split, or fold ``fold``)."""
    ecfg, tcfg = params["evaluate"], params["train"]
    paths = Paths(params)
    run = run_name(seed_index=seed_index, fold=fold)
    out = paths.model_files(model_name, run)
    ckpt = load_checkpoint(out["checkpoint"], missing_hint=f"run stage train_{model_name}_{run} first")
    model = model_from_checkpoint(ckpt)
    W = tcfg["window_frames"]
    windows = run_windows(params, fold=fold, roles=("train", "test"))
    train, test = windows["train"], windows["test"]
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
        "model": model_name,
        "seed_index": seed_index,
        "fold": fold,
        "run": run,
        "seed": ckpt["params"]["seed"],
        "dataset": params["dataset"],
        "window_frames": W,
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
    log.info(
        "%s %s music->motion windows: exact R@1 %.3f (chance %.3f), piece R@1 %.3f (chance %.3f); "
        "motion genre probe %.3f (chance %.3f)",
        model_name,
        run,
        r["exact"]["model"]["R@1"],
        r["exact"]["chance"]["R@1"],
        r["piece"]["model"]["R@1"],
        r["piece"]["chance"]["R@1"],
        metrics["genre_probe"]["motion"]["window_accuracy"],
        metrics["genre_probe"]["motion"]["chance_window"],
    )
    return metrics


if __name__ == "__main__":
    raise SystemExit(
        run_stage(evaluate_model, __doc__.splitlines()[0], models=RETRIEVAL_MODELS, seeded=True, folded=True)
    )
