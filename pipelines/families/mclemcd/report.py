"""MCLEMCD's report section (grid, main variant over seeds, confusion matrix) and its docs/results.md lines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...config import Paths
from ...evaluation.stats import mean_std
from ...reports.doc import Doc, pct, plt, spread
from ...reports.doc import ci_text as _ci
from ...reports.doc import ms_text as _ms
from ...reports.doc import pct as _pct
from .tables import ablation_caption, ablation_rows
from .variants import variant_of


def mclemcd_section(params: dict, doc: Doc) -> None:
    """The MCLEMCD ablation table and the main variant's confusion matrix."""
    summary = json.loads((Paths(params).results / "mclemcd" / "metrics.json").read_text())
    doc.h(2, "MCLEMCD: music genre from dance")
    doc.p(ablation_caption(summary))
    doc.table(*ablation_rows(summary["variants"]))
    main_variant = variant_of(params).name
    r = summary["variants"].get(main_variant)
    if r is None:
        return
    doc.p(
        "The ablation grid is one run per variant (the main seed). "
        f"Main variant {main_variant}, main seed: window accuracy {pct(r['window_accuracy'])} % against the majority "
        f"class's {pct(r['majority_class_window'])} % "
        f"({100 * (r['window_accuracy'] - r['majority_class_window']):+.1f} points); {r['pieces_correct']} of "
        f"{r['pieces']} pieces right."
    )
    head_path = Paths(params).headline("mclemcd")
    if head_path.exists():
        head = json.loads(head_path.read_text())
        doc.p(
            f"Main variant over {head['seeds']} seeds (mean ± std): window {spread(head['window_accuracy']['values'])} %, "
            f"segment {spread(head['segment_accuracy']['values'])} %, piece {spread(head['piece_accuracy']['values'])} %; "
            f"main seed's window accuracy, 95 % bootstrap interval over test windows: "
            f"[{pct(head['window_accuracy']['ci95'][0])}, {pct(head['window_accuracy']['ci95'][1])}] %."
        )
    cm = np.array(r["confusion"], dtype=float)
    cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    genres = summary["genres"]
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(genres)), genres, fontsize=7, rotation=90)
    ax.set_yticks(range(len(genres)), genres, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    doc.figure("mclemcd_confusion", fig, f"MCLEMCD {main_variant}: genre from dance, test windows, rows normalised.")


def numbers_lines(results: Path) -> list[str]:
    """docs/results.md's MCLEMCD lines of one dataset's results folder: the main variant over seeds,
    and the grid's (or the main variant's) per-fold table under k-fold."""
    lines = []
    mc_path = results / "summary" / "mclemcd.json"
    if mc_path.exists():
        mc = json.loads(mc_path.read_text())
        lines += [
            f"MCLEMCD `{mc['variant']}` ({mc_path}; protocol `{mc['protocol']}`, seeds: {mc['seeds']}): window "
            f"{_ms(mc['window_accuracy'])} %, segment {_ms(mc['segment_accuracy'])} %, piece "
            f"{_ms(mc['piece_accuracy'])} %; majority class {_pct(mc['majority_class_window'])} % of windows; main "
            f"seed's window accuracy {_ci(mc['window_accuracy']['ci95'])} % (95 % bootstrap over test windows).",
            "",
        ]
    grid_path = results / "mclemcd_ablation" / "metrics.json"  # the grid (target ablations), else the main variant
    if not grid_path.exists():
        grid_path = results / "mclemcd" / "metrics.json"
    if grid_path.exists():
        grid = json.loads(grid_path.read_text())
        rows = []
        for name, v in sorted(grid["variants"].items()):
            if "per_fold" in v:
                folds = v["per_fold"]
                acc = [f["window_accuracy"] for f in folds]
                bal = [f["balanced_accuracy_window"] for f in folds]
                bal_p = [f["balanced_accuracy_piece"] for f in folds]
                rows.append(
                    f"| {name} | {_ms(mean_std(acc))} | {_ms(mean_std(bal))} | {_pct(v['balanced_accuracy_window'])} | "
                    f"{_ms(mean_std(bal_p))} | {_pct(v['balanced_accuracy_piece'])} | {_pct(v['majority_class_window'])} |"
                )
        if rows:
            lines += [
                f"MCLEMCD per fold ({grid_path}; protocol `{grid['protocol']}`): mean ± std over folds, then the pooled "
                "test windows / dances of all folds. Percent.",
                "",
                "| variant | window accuracy | balanced, window | balanced, window (pooled) | balanced, dance | "
                "balanced, dance (pooled) | majority class, window (pooled) |",
                "|---|---|---|---|---|---|---|",
                *rows,
                "",
                f"Balanced accuracy is the mean recall over genres; its chance level is 1 / {len(grid['genres'])} = "
                f"{_pct(1 / len(grid['genres']))} % here ({', '.join(grid['genres'])}).",
                "",
            ]
        recall = {
            n: v.get("per_genre_recall_window") for n, v in grid["variants"].items() if v.get("per_genre_recall_window")
        }
        if recall and grid["protocol"] == "kfold":
            genres = sorted({g for r in recall.values() for g in r})
            lines += [
                "Per-genre recall of the pooled test windows (percent):",
                "",
                "| variant | " + " | ".join(genres) + " |",
                "|---|" + "---|" * len(genres),
            ]
            lines += [
                f"| {n} | " + " | ".join(_pct(r[g]) if g in r else "–" for g in genres) + " |"
                for n, r in sorted(recall.items())
            ]
            lines.append("")
    return lines
