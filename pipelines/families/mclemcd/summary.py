"""MCLEMCD's headline: the main variant over seeds, and its margin over the majority class."""

from __future__ import annotations

import json

from ...config import Paths
from ...evaluation.classification import correct_and_majority
from ...evaluation.stats import bootstrap_ci, excludes_zero, mean_std, paired_bootstrap_ci
from ...files import write_json
from ..retrieval.summary import compact
from .variants import variant_of


def mclemcd_headline(params: dict) -> tuple[dict, dict] | None:
    """MCLEMCD's main variant over seeds and its margin over the majority class (None without the grid's run)."""
    paths, ecfg = Paths(params), params["evaluate"]
    grid = json.loads((paths.results / "mclemcd" / "metrics.json").read_text())
    name = variant_of(params).name
    if name not in grid["variants"]:
        return None
    runs = [grid["variants"][name]] + [
        json.loads((paths.results / "mclemcd" / f"main_seed{k}.json").read_text()) for k in range(1, ecfg["seeds"])
    ]
    out = {
        "model": "mclemcd",
        "variant": name,
        "protocol": grid["protocol"],
        "seeds": len(runs),
        "test_windows": runs[0]["windows"],
    }
    for key in ("window_accuracy", "segment_accuracy", "piece_accuracy"):
        out[key] = mean_std([r[key] for r in runs])
    out["majority_class_window"] = runs[0]["majority_class_window"]
    correct, is_major = correct_and_majority(
        runs[0]["confusion"], genres=grid["genres"], majority=runs[0].get("majority_class")
    )
    out["window_accuracy"]["ci95"] = bootstrap_ci(correct, draws=ecfg["bootstrap_draws"], seed=params["seed"])
    out["interval_over"] = "test windows of the main seed"
    margin_ci = paired_bootstrap_ci(correct, is_major, draws=ecfg["bootstrap_draws"], seed=params["seed"])
    margin = {
        "model": name,
        "baseline": "majority class",
        "metric": "window accuracy",
        **{k: v for k, v in mean_std([r["window_accuracy"] - r["majority_class_window"] for r in runs]).items()},
        "ci95": margin_ci,
        "interval_over": "test windows of the main seed",
        "excludes_zero": excludes_zero(margin_ci),
    }
    return out, margin


def summarize_mclemcd(params: dict, heads: dict, per_query: dict) -> list[dict]:
    """Write ``summary/mclemcd.json`` and ``metrics/mclemcd.json``; the margin over the majority class."""
    mc = mclemcd_headline(params)
    if mc is None:
        return []
    paths = Paths(params)
    heads["mclemcd"] = mc[0]
    write_json(paths.headline("mclemcd"), mc[0])
    write_json(
        paths.metrics_file("mclemcd"),
        {
            **compact(mc[0], ("window_accuracy", "piece_accuracy")),
            "majority_class_window": mc[0]["majority_class_window"],
        },
    )
    return [mc[1]]
