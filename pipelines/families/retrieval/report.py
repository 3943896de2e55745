"""The model report's retrieval section: every model scored by the retrieval protocol against the
linear baseline and chance, margins, the rhythm protocol, the genre probe and figures
(:mod:`pipelines.stages.report` writes the report)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import matplotlib

from ...reports.doc import ci_text as _ci
from ...reports.doc import ms_text as _ms
from ...reports.doc import pct as _pct

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ...config import Paths  # noqa: E402
from ...evaluation.retrieval import pessimistic_ranks  # noqa: E402
from ...reports.doc import Doc, pct, spread  # noqa: E402
from .names import model_runs as runs_of  # noqa: E402

log = logging.getLogger(__name__)


def retrieval_table(runs: dict, gallery: str, direction: str, ks: list[int]) -> tuple[list[str], list[list[str]]]:
    """Rows per model: every cell is mean ± std over the model's runs (seeds)."""
    header = (
        ["model"]
        + [f"exact R@{k}" for k in ks]
        + ["exact medR", "exact mAP", "piece R@1", "piece mAP", "genre R@1", "genre mAP"]
    )
    cells = [("exact", f"R@{k}") for k in ks] + [("exact", "median_rank"), ("exact", "mAP")]
    cells += [(lv, key) for lv in ("piece", "genre") for key in ("R@1", "mAP")]
    rows = []
    for name, run_results in runs.items():
        rs = [r["retrieval"][gallery][direction] for r in run_results]
        rows.append(
            [f"{name} ({len(rs)} run{'s' if len(rs) > 1 else ''})"]
            + [
                spread(
                    [r[lv]["model"][key] for r in rs], pct=key != "median_rank", digits=0 if key == "median_rank" else 1
                )
                for lv, key in cells
            ]
        )
    any_m = next(iter(runs.values()))[0]["retrieval"][gallery][direction]
    rows.append(
        ["chance"]
        + [
            f"{any_m[lv]['chance'][key]:.0f}" if key == "median_rank" else pct(any_m[lv]["chance"][key])
            for lv, key in cells
        ]
    )
    if "ceiling" in any_m["exact"]:
        rows.append(
            ["ceiling (identical music)"]
            + [pct(any_m["exact"]["ceiling"][f"R@{k}"]) for k in ks]
            + ["", "", "", "", "", ""]
        )
    return header, rows


def rhythm_caption(params: dict, first: dict) -> str:
    cfg = params["rhythm"]
    probe = next((r for r in [first["rhythm"].get("beat_probe")] if r), None)
    ref = probe["reference"] if probe else "the reference beats"
    return (
        "Phase discrimination: for each test window, the music's similarity to its true motion against the same dance "
        f"moved by {', '.join(f'{k:+g}' for k in cfg['phase_shifts_beats'])} beats along the beat grid (music kept) and "
        f"a different dance within ±{cfg['tempo_tolerance_bpm']:g} BPM; top-1 accuracy (ties against the "
        "model) beside chance (1 / candidates). Beat probe: a logistic regression on the music encoder's frozen "
        f"per-step states (per token for MotionBeat, per conv step for temporal; pooled models have none), F-measure "
        f"±70 ms against {ref} per test window, beside a beat grid at the true tempo with a random phase. The temporal "
        "model's music input includes the estimated beats. The rows marked 'no encoder' fit the same probe on the "
        "music tokens MotionBeat's encoder reads, alone and with their bar phase as sines and cosines: what the "
        "tokenization gives before any learning. Retrieved BeatAlign: the music query's beats against the "
        "kinetic beats of the motion ranked first (true pair and random pair for reference). Mean ± std over runs."
    )


def rhythm_rows(model_runs: dict) -> tuple[list[str], list[list[str]]]:
    """Rows per model of the rhythm metrics (:mod:`pipelines.evaluation.rhythm`)."""
    header = ["model", "phase top-1", "chance", "beat probe F", "chance", "retrieved BeatAlign", "true pair", "random"]
    rows = []
    for name, results in model_runs.items():
        rh = [r.get("rhythm") or {} for r in results]
        if not rh[0]:
            continue
        probe = [x["beat_probe"] for x in rh if x.get("beat_probe") and x["beat_probe"].get("f_measure") is not None]
        rows.append(
            [
                name,
                spread([x["phase"]["top1"] for x in rh]),
                pct(rh[0]["phase"]["chance"]),
                spread([p["f_measure"] for p in probe]) if probe else "—",
                pct(probe[0]["chance"]) if probe else "—",
                spread([x["beat_align"]["retrieved"] for x in rh], pct=False, digits=3),
                f"{rh[0]['beat_align']['true_pair']:.3f}",
                f"{rh[0]['beat_align']['random_pair']:.3f}",
            ]
        )
        for key, label in (
            ("beat_probe_input", "input tokens"),
            ("beat_probe_input_phase", "input tokens + bar phase"),
        ):
            if key in rh[0]:
                f = spread([x[key]["f_measure"] for x in rh])
                rows.append([f"{name}: {label} (no encoder)", "—", "—", f, pct(rh[0][key]["chance"]), "—", "—", "—"])
    return header, rows


def rhythm_verdict(comparison: dict, model_runs: dict) -> str:
    """One sentence per rhythm margin (MotionBeat − temporal): does its interval put MotionBeat ahead, and
    where the beat probe loses, what the probe gets from MotionBeat's input tokens with and without bar phase."""
    out = []
    for m in comparison["margins"]:
        if m["metric"] not in ("phase_top1", "beat_probe_f"):
            continue
        lo, hi = (100 * x for x in m["ci95"])
        if lo > 0:
            word = f"beats {m['baseline']}"
        elif hi < 0:
            word = f"does not beat {m['baseline']} (the interval is below 0)"
        else:
            word = f"is not distinguishable from {m['baseline']} (the interval holds 0)"
        out.append(
            f"On {m['metric']}, {m['model']} {word}: margin {100 * m['mean']:+.1f} points, "
            f"95 % interval [{lo:+.1f}, {hi:+.1f}]."
        )
        if m["metric"] != "beat_probe_f" or hi >= 0:
            continue
        model, base = model_runs.get(m["model"], []), model_runs.get(m["baseline"], [])
        sources = {
            "encoder": (model, "beat_probe"),
            "input": (model, "beat_probe_input"),
            "phase": (model, "beat_probe_input_phase"),
            "baseline": (base, "beat_probe"),
        }
        mean = {}
        for name, (results, key) in sources.items():
            values = [(r["rhythm"].get(key) or {}).get("f_measure") for r in results]
            values = [v for v in values if v is not None]
            if values:
                mean[name] = float(np.mean(values))
        if len(mean) == 4:
            gap = mean["baseline"] - mean["input"]
            share = 100 * (mean["phase"] - mean["input"]) / gap if gap > 0 else None
            closed = f" (the bar phase closes {share:.0f} % of the gap to {m['baseline']})" if share is not None else ""
            out.append(
                f"The same probe fitted on the music tokens {m['model']}'s encoder reads gives F {pct(mean['input'])} "
                f"alone and {pct(mean['phase'])} with each token's bar phase as sines and cosines{closed}, against "
                f"{pct(mean['encoder'])} on the encoder's states and {pct(mean['baseline'])} on {m['baseline']}'s, "
                "whose music input carries the estimated beats (means over runs)."
            )
    return " ".join(out)


def build(params: dict, doc: Doc, *, models: tuple[str, ...]) -> None:
    paths = Paths(params)
    summary = json.loads((paths.data_report / "summary.json").read_text())
    model_runs = {
        m: [json.loads(paths.model_files(m, r["name"])["evaluation"].read_text()) for r in runs_of(params, m)]
        for m in models
    }
    metrics = {m: r[0] for m, r in model_runs.items()}  # the main run, for the figures
    evals = {m: np.load(paths.model_files(m, runs_of(params, m)[0]["name"])["eval"]) for m in models}
    comparison = json.loads((paths.results / "comparison.json").read_text())
    ks = params["evaluate"]["ks"]
    W = params["train"]["window_frames"]
    first = next(iter(metrics.values()))
    n_test = first["retrieval"]["windows"]["size"]
    n_seq = first["retrieval"]["sequences"]["size"]
    doc.h(1, f"Music–motion retrieval report: {params['dataset']}")
    doc.p(
        f"Dataset: {summary['sequences']} aligned sequences ({', '.join(f'{k} {v}' for k, v in summary['per_split'].items())}), "
        f"{summary['pieces']} music pieces, {summary['minutes']} min. Models train on the train split's {W}-frame "
        f"windows ({first['train_windows']}), stop early on the val split and are scored on the test split: "
        f"{n_test} windows from {n_seq} sequences. Percentages; every number is mean ± standard deviation over "
        f"the model's training runs (seeds {params['seed']}, {params['seed']} + 1, …; one run for the deterministic "
        "linear baseline), beside its chance level (random scores, same gallery). Figures show the main seed. See "
        "data_report/report.md for the data itself."
    )
    beat = [
        f"BeatAlign of the dances against the music beats {summary['beat_align_mean']:.3f} "
        f"(σ = {summary['beat_align_sigma_s']:g} s, Bailando's definition)"
    ]
    if summary.get("beat_f_mean") is not None:
        beat.append(
            f"beat-tracking F-measure against the ground-truth beats {summary['beat_f_mean']:.3f} "
            f"(downbeats {summary['downbeat_f_mean']:.3f})"
        )
    doc.p("Beat metrics of the data: " + "; ".join(beat) + ".")
    doc.h(2, "Protocol")
    doc.p(
        "Gallery 'windows': every test window is a query and a gallery item. Gallery 'sequences': a sequence is the "
        "mean of its windows' embeddings. Relevance: 'exact' is the query's own pair; 'piece' any item with the same "
        "music piece; 'genre' the same genre. R@K: share of queries with a relevant item in the top K; medR: median "
        "rank of the first relevant item; mAP over all relevant items; ties count against the model. When several "
        "dancers share a piece, windows with the same piece and start carry the very same music, so exact-pair "
        "retrieval has a ceiling below 100 %, shown in the tables."
    )
    pieces = set(next(iter(evals.values()))["piece"])
    if len(pieces) == len(set(next(iter(evals.values()))["genre"])):
        doc.p(
            f"In this test split every genre has exactly one music piece ({len(pieces)} in all), so the 'piece' and "
            "'genre' relevance levels coincide."
        )
    for gallery in ("windows", "sequences"):
        for direction, label in (("music_to_motion", "music → motion"), ("motion_to_music", "motion → music")):
            doc.h(2, f"Retrieval, {label}, {gallery} gallery")
            doc.table(*retrieval_table(model_runs, gallery, direction, ks))
    doc.h(2, "Margins with intervals")
    doc.p(
        "Each margin is the difference to its baseline on the same test items: mean ± std over seeds, and the 95 % "
        "interval of a paired bootstrap over the test queries (windows) of the main seed "
        f"({params['evaluate']['bootstrap_draws']} resamples). A margin counts only when its interval excludes zero."
    )
    rows = [
        [
            m["model"],
            m["baseline"],
            m["metric"],
            spread(m["values"]),
            f"[{100 * m['ci95'][0]:+.1f}, {100 * m['ci95'][1]:+.1f}] ({m['interval_over']})",
            "yes" if m["excludes_zero"] else "no",
        ]
        for m in comparison["margins"]
    ]
    doc.table(["model", "baseline", "metric", "margin (points)", "95 % bootstrap interval", "excludes 0"], rows)
    doc.h(2, "Rhythm: phase discrimination, beat-tracking probe, BeatAlign of the retrieved dance")
    doc.p(rhythm_caption(params, first))
    doc.table(*rhythm_rows(model_runs))
    verdict = rhythm_verdict(comparison, model_runs)
    if verdict:
        doc.p(verdict)
    doc.h(2, "Genre linear probe on frozen embeddings")
    rows = []
    for name, results in model_runs.items():
        rows.append(
            [name]
            + [
                spread([r["genre_probe"][side][key] for r in results])
                for side in ("motion", "audio")
                for key in ("window_accuracy", "sequence_accuracy")
            ]
        )
    gm = first["genre_probe"]["motion"]
    rows.append(
        [
            "chance (majority class)",
            pct(gm["chance_window"]),
            pct(gm["chance_sequence"]),
            pct(gm["chance_window"]),
            pct(gm["chance_sequence"]),
        ]
    )
    doc.table(["model", "motion: window", "motion: sequence (vote)", "audio: window", "audio: sequence (vote)"], rows)
    # figures
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, e in evals.items():
        k = np.arange(1, e["recall"].size + 1)
        ax.plot(k, 100 * e["recall"], label=name)
    ax.plot(k, 100 * next(iter(evals.values()))["recall_chance"], "k--", label="chance")
    ax.set_xlabel("K")
    ax.set_ylabel("exact-pair recall@K (%)")
    ax.legend()
    doc.figure("recall_at_k", fig, "Recall@K of the exact pair, music → motion, test windows.")
    order = np.lexsort((np.arange(n_test), next(iter(evals.values()))["piece"]))
    fig, axes = plt.subplots(1, len(evals), figsize=(4 * len(evals), 3.8))
    for ax, (name, e) in zip(np.atleast_1d(axes), evals.items()):
        im = ax.imshow(e["similarity"][np.ix_(order, order)], cmap="viridis")
        ax.set_title(name)
        ax.set_xlabel("motion (sorted by piece)")
        ax.set_ylabel("music (sorted by piece)")
        fig.colorbar(im, ax=ax, fraction=0.046)
    doc.figure(
        "similarity",
        fig,
        "Music × motion cosine similarity over the test windows, sorted by music piece: "
        "the diagonal is the exact pairs, diagonal blocks are same-piece windows.",
    )
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bins = np.unique(np.geomspace(1, n_test, 20).astype(int))
    for name, e in evals.items():
        ranks = np.diag(pessimistic_ranks(e["similarity"]))
        ax.hist(ranks, bins=bins, histtype="step", lw=2, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("rank of the exact pair (music → motion)")
    ax.set_ylabel("queries")
    ax.legend()
    doc.figure("rank_histogram", fig, "Where the exact pair lands; uniform under chance.")
    genres = sorted(set(next(iter(evals.values()))["genre"]))
    fig, axes = plt.subplots(1, len(evals), figsize=(4 * len(evals), 3.8))
    for ax, (name, e) in zip(np.atleast_1d(axes), evals.items()):
        x = e["motion"] - e["motion"].mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        xy = x @ vt[:2].T
        for g in genres:
            sel = e["genre"] == g
            ax.scatter(xy[sel, 0], xy[sel, 1], s=8, label=g)
        ax.set_title(name)
    np.atleast_1d(axes)[-1].legend(fontsize=7, markerscale=2)
    doc.figure("embedding_map", fig, "Motion embeddings of the test windows, first two principal components, by genre.")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.8))
    for ax, (name, m) in zip(np.atleast_1d(axes), metrics.items()):
        probe = m["genre_probe"]["motion"]
        cm = np.array(probe["confusion"], dtype=float)
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(probe["labels"])), probe["labels"], fontsize=7, rotation=90)
        ax.set_yticks(range(len(probe["labels"])), probe["labels"], fontsize=7)
        ax.set_title(f"{name}: {pct(probe['window_accuracy'])} %")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    doc.figure("confusion", fig, "Genre probe on motion embeddings (test windows), rows normalised.")


def numbers_lines(results: Path, *, models: tuple[str, ...]) -> list[str]:
    """docs/results.md's retrieval tables of one dataset's results folder: every scored model's
    headline beside chance, then the rhythm numbers of the models that have them."""
    heads = {m: results / "summary" / f"{m}.json" for m in models}
    if not all(p.exists() for p in heads.values()):
        return []
    head = {m: json.loads(p.read_text()) for m, p in heads.items()}
    first = max(head.values(), key=lambda h: len(h["runs"]))  # a learned model: every run
    kfold = first["protocol"] == "kfold"
    lines = []
    runs = ", ".join(first["runs"])
    lines += [
        f"Retrieval, music → motion over the test windows ({results}/summary/<model>.json; protocol "
        f"`{first['protocol']}`, runs {runs}). Percent; mean ± std over "
        f"{'folds' if kfold else 'seeds'}, then the 95 % bootstrap interval over the {first['interval_over']}.",
        "",
        "| model | runs | piece R@1 | interval | piece R@10 | piece mAP | exact R@10 | exact medR | genre probe (motion) "
        "| best epoch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, h in head.items():
        lines.append(
            f"| {m} | {len(h['runs'])} | {_ms(h['piece_R@1'])} | {_ci(h['piece_R@1']['ci95'])} | "
            f"{_ms(h['piece_R@10'])} | {_ms(h['piece_mAP'])} | "
            f"{_ms(h['exact_R@10'])} | {_ms(h['exact_median_rank'], pct=False)} | {_ms(h['genre_probe_motion_window'])} "
            f"(balanced {_ms(h['genre_probe_motion_balanced'])}) | {_ms(h['best_epoch'], pct=False)} |"
        )
    lines.append(
        f"| chance | | {_pct(first['piece_R@1']['chance'])} | | {_pct(first['piece_R@10']['chance'])} | "
        f"{_pct(first['piece_mAP']['chance'])} | "
        f"{_pct(first['exact_R@10']['chance'])} | {first['exact_median_rank']['chance']:.0f} | "
        f"{_pct(first['genre_probe_motion_window']['chance'])} (majority class) | |"
    )
    lines.append("")
    rhythm = {m: h for m, h in head.items() if "phase_top1" in h}
    if rhythm:
        r0 = next(iter(rhythm.values()))
        lines += [
            f"Rhythm and transfer ({results}/summary/<model>.json; the report's rhythm section defines them): "
            "phase discrimination top-1, beat-tracking probe F-measure (±70 ms) on the frozen per-step music "
            "states, genre probe on frozen music embeddings (per window, balanced, per sequence by vote), and "
            "the BeatAlign of the top-ranked motion. Percent but BeatAlign; mean ± std over "
            f"{'folds' if kfold else 'seeds'}.",
            "",
            "| model | phase top-1 | beat probe F | genre probe (music) | balanced | per sequence | retrieved BeatAlign |",
            "|---|---|---|---|---|---|---|",
        ]
        for m, h in rhythm.items():
            probe = _ms(h["beat_probe_f"]) if "beat_probe_f" in h else "—"
            music = ("genre_probe_music_window", "genre_probe_music_balanced", "genre_probe_music_sequence")
            g = [_ms(h[k]) if k in h else "—" for k in music]
            lines.append(
                f"| {m} | {_ms(h['phase_top1'])} | {probe} | {g[0]} | {g[1]} | {g[2]} | "
                f"{_ms(h['retrieved_beat_align'], pct=False, digits=3)} |"
            )
            for key, label in (
                ("beat_probe_input_f", "input tokens"),
                ("beat_probe_input_phase_f", "input tokens + bar phase"),
            ):
                if key in h:
                    lines.append(f"| {m}: {label} (no encoder) | — | {_ms(h[key])} | — | — | — | — |")
        probe_chance = next((h["beat_probe_f"]["chance"] for h in rhythm.values() if "beat_probe_f" in h), None)
        lines += [
            f"| chance | {_pct(r0['phase_top1']['chance'])} | "
            f"{_pct(probe_chance) if probe_chance is not None else '—'} (random-phase grid) | "
            f"{_pct(r0['genre_probe_music_window']['chance']) if 'genre_probe_music_window' in r0 else '—'} "
            f"(majority class) | | "
            f"{_pct(r0['genre_probe_music_sequence']['chance']) if 'genre_probe_music_sequence' in r0 else '—'} | "
            f"{r0['retrieved_beat_align']['chance']:.3f} (random pair; true pair "
            f"{r0['retrieved_beat_align']['true_pair']:.3f}) |",
            "",
        ]
    return lines
