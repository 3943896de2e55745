"""Headline numbers of the models scored by the retrieval protocol, over their runs, and margins.

For a model (a retrieval model, or another family's model scored by the same protocol) it reads
the runs' ``results/<dataset>/evaluation/<model>/<run>.json`` and ``.npz``: music → motion
retrieval over the test windows (piece R@1, piece mAP, exact R@10, exact median rank) and the
genre probes on motion and on music embeddings (per window, balanced, and per sequence by vote),
each as mean ± std over the runs (``evaluate.seeds`` seeds, one run for the deterministic
``linear``; or one run per fold under ``evaluate.protocol: kfold``), with a 95 % bootstrap
interval over the test queries (of the main seed; of every fold under kfold) and its chance
level; models with rhythm metrics also get phase-discrimination top-1 and beat-probe F with
intervals over test windows, and the BeatAlign of the top-ranked motion.
"""

from __future__ import annotations

import json
import logging

import numpy as np

from ...config import Paths, runs
from ...evaluation.retrieval import per_query_metrics, relevance
from ...evaluation.stats import bootstrap_ci, excludes_zero, mean_std, paired_bootstrap_ci
from ...files import write_json
from .names import BASELINE, DETERMINISTIC, LEARNED, RETRIEVAL_MODELS

#: Rhythm numbers compared with the temporal baseline: name -> (section, value, per-query key).
RHYTHM = {
    "phase_top1": ("phase", "top1", "correct"),
    "beat_probe_f": ("beat_probe", "f_measure", "per_window"),
    "beat_probe_input_f": ("beat_probe_input", "f_measure", "per_window"),
    "beat_probe_input_phase_f": ("beat_probe_input_phase", "f_measure", "per_window"),
}

log = logging.getLogger(__name__)

#: Headline retrieval numbers: name -> (relevance level, per-query key, aggregate), music → motion, windows.
HEADLINE = {
    "piece_R@1": ("piece", "R@1", "mean"),
    "piece_mAP": ("piece", "AP", "mean"),
    "piece_R@10": ("piece", "R@10", "mean"),
    "exact_R@10": ("exact", "R@10", "mean"),
    "exact_median_rank": ("exact", "rank", "median"),
}
LEVEL_KEY = {"exact": "id", "piece": "piece", "genre": "genre"}


def _per_query(npz: dict, level: str, ks: tuple[int, ...]) -> dict:
    meta = [{"id": i, "piece": p, "genre": g} for i, p, g in zip(npz["id"], npz["piece"], npz["genre"])]
    return per_query_metrics(npz["similarity"], relevance(meta, meta, key=LEVEL_KEY[level]), ks=ks)


def _stored(metrics: dict, level: str, key: str, *, which: str = "model") -> float:
    """A run's stored music → motion windows number (``which``: ``model`` or ``chance``) for a per-query key."""
    entry = metrics["retrieval"]["windows"]["music_to_motion"][level][which]
    return entry["median_rank" if key == "rank" else "mAP" if key == "AP" else key]


def _npz(path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in ("similarity", "id", "piece", "genre")}


def retrieval_headline(params: dict, model: str) -> tuple[dict, dict]:
    """The model's headline dict and, per headline number, the per-query values its interval is
    drawn from: the main seed's test queries (``splits``), or every fold's (``kfold``)."""
    paths, ecfg = Paths(params), params["evaluate"]
    ks = tuple(sorted(set(ecfg["ks"]) | {1, 10}))
    model_runs = runs(params, deterministic=model in DETERMINISTIC)
    results = [json.loads(paths.model_files(model, r["name"])["evaluation"].read_text()) for r in model_runs]
    kfold = ecfg["protocol"] == "kfold"
    pooled = [_npz(paths.model_files(model, r["name"])["eval"]) for r in (model_runs if kfold else model_runs[:1])]
    sizes = [r["retrieval"]["windows"]["size"] for r in results]
    out = {
        "model": model,
        "protocol": ecfg["protocol"],
        "runs": [r["name"] for r in model_runs],
        "deterministic": model in DETERMINISTIC,
        "test_windows": sum(sizes) if kfold else sizes[0],
        "interval_over": "test queries of every fold" if kfold else "test queries of the main seed",
        "best_epoch": mean_std([r["best_epoch"] for r in results]),
    }
    per_query = {}
    for name, (level, key, agg) in HEADLINE.items():
        q = np.concatenate([_per_query(z, level, ks)[key] for z in pooled])
        per_query[name] = q
        stat = np.median if agg == "median" else np.mean
        out[name] = {
            **mean_std([_stored(r, level, key) for r in results]),
            "ci95": bootstrap_ci(q, draws=ecfg["bootstrap_draws"], seed=params["seed"], statistic=stat),
            "chance": mean_std([_stored(r, level, key, which="chance") for r in results])["mean"],
        }
    for side, label in (("motion", "motion"), ("audio", "music")):
        probe = [r["genre_probe"][side] for r in results]
        out[f"genre_probe_{label}_window"] = {
            **mean_std([p["window_accuracy"] for p in probe]),
            "chance": mean_std([p["chance_window"] for p in probe])["mean"],
        }
        out[f"genre_probe_{label}_balanced"] = mean_std([p["balanced_accuracy"] for p in probe])
        out[f"genre_probe_{label}_sequence"] = {
            **mean_std([p["sequence_accuracy"] for p in probe]),
            "chance": mean_std([p["chance_sequence"] for p in probe])["mean"],
        }
    for name, (section, key, per) in RHYTHM.items():
        parts = [r["rhythm"].get(section) for r in results]
        if any(p is None for p in parts):
            continue
        used = results if kfold else results[:1]
        q = np.concatenate([np.asarray(r["rhythm"][section][per], dtype=float) for r in used])
        per_query[name] = q
        out[name] = {
            **mean_std([p[key] for p in parts]),
            "ci95": bootstrap_ci(q, draws=ecfg["bootstrap_draws"], seed=params["seed"]),
            "chance": mean_std([p["chance"] for p in parts])["mean"],
        }
    if all("beat_align" in r["rhythm"] for r in results):
        out["retrieved_beat_align"] = {
            **mean_std([r["rhythm"]["beat_align"]["retrieved"] for r in results]),
            "true_pair": results[0]["rhythm"]["beat_align"]["true_pair"],
            "chance": results[0]["rhythm"]["beat_align"]["random_pair"],
        }
    return out, per_query


def compact(head: dict, names: tuple[str, ...]) -> dict:
    """The few numbers DVC shows for a model: each name's mean, std and chance (when it has one)."""
    out = {"runs": len(head["runs"]) if "runs" in head else head["seeds"]}
    for name in names:
        out[name] = round(head[name]["mean"], 4)
        out[f"{name}_std"] = round(head[name]["std"], 4)
        if "chance" in head[name]:
            out[f"{name}_chance"] = round(head[name]["chance"], 4)
    return out


def write_headline(params: dict, model: str, head: dict, names: tuple[str, ...]) -> None:
    """``summary/<model>.json`` (every number) and ``metrics/<model>.json`` (the few DVC shows)."""
    paths = Paths(params)
    write_json(paths.headline(model), head)
    write_json(paths.metrics_file(model), compact(head, names))


def margin(params: dict, heads: dict, per_query: dict, model: str, baseline: str, name: str) -> dict:
    """``model`` − ``baseline`` on headline number ``name``: mean ± std over runs (fold by fold
    under kfold; against the one run of a deterministic baseline) and a paired bootstrap interval
    over the same test queries."""
    ecfg = params["evaluate"]
    ci = paired_bootstrap_ci(
        per_query[model][name], per_query[baseline][name], draws=ecfg["bootstrap_draws"], seed=params["seed"]
    )
    values, base_values = heads[model][name]["values"], heads[baseline][name]["values"]
    paired = len(base_values) == len(values)  # kfold: fold by fold; seeds: against the one linear run
    diff = mean_std([v - (base_values[i] if paired else heads[baseline][name]["mean"]) for i, v in enumerate(values)])
    return {
        "model": model,
        "baseline": baseline,
        "metric": name if name in RHYTHM else f"music → motion {name}",
        **diff,
        "ci95": ci,
        "interval_over": heads[model]["interval_over"],
        "excludes_zero": excludes_zero(ci),
    }


#: Headline numbers DVC shows for a model scored by the retrieval protocol.
METRICS = ("piece_R@1", "piece_mAP")


def summarize_retrieval(params: dict, heads: dict, per_query: dict) -> list[dict]:
    """Headlines of the retrieval models (written to their files, added to ``heads`` and
    ``per_query``) and the learned models' margins over the linear baseline."""
    for model in RETRIEVAL_MODELS:
        heads[model], per_query[model] = retrieval_headline(params, model)
        write_headline(params, model, heads[model], METRICS)
    return [margin(params, heads, per_query, m, BASELINE, n) for m in LEARNED for n in METRICS]
