"""Write ``docs/results.md`` from the files the pipeline wrote: ``make numbers``.

``python -m pipelines.tools.numbers --params params.yaml [--output docs/results.md]``

For every dataset with results under ``results_dir`` it reads the data report's
``summary.json``, each model's ``summary/<model>.json`` (stage ``summarize``) and
``comparison.json``, and the benchmark JSON files when present, and writes them as Markdown
tables; nothing in the file is typed by hand. Each section names the files it came from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ..config import REPO_ROOT, load_params
from ..evaluation.stats import mean_std
from ..families.dance2music.report import audio_table, margin_text, token_table
from ..files import atomic_file
from ..models.registry import SCORED_MODELS
from ..reports.doc import markdown_table


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _ms(entry: dict, *, pct: bool = True, digits: int | None = None) -> str:
    scale = 100 if pct else 1
    digits = (1 if pct else 0) if digits is None else digits
    text = f"{scale * entry['mean']:.{digits}f}"
    return text + (f" ± {scale * entry['std']:.{digits}f}" if entry.get("n", 1) > 1 else "")


def _ci(interval: list[float], *, pct: bool = True) -> str:
    scale, digits = (100, 1) if pct else (1, 0)
    return f"[{scale * interval[0]:.{digits}f}, {scale * interval[1]:.{digits}f}]"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def dataset_section(results: Path) -> list[str]:
    """Markdown lines for one dataset's results folder (empty when it holds no headline)."""
    heads = {m: results / "summary" / f"{m}.json" for m in SCORED_MODELS}
    if not all(p.exists() for p in heads.values()):
        return []
    head = {m: json.loads(p.read_text()) for m, p in heads.items()}
    first = max(head.values(), key=lambda h: len(h["runs"]))  # a learned model: every run
    kfold = first["protocol"] == "kfold"
    lines = [f"## `{results.name}`", ""]
    summary_path = results / "data_report" / "summary.json"
    if summary_path.exists():
        s = json.loads(summary_path.read_text())
        split = ", ".join(f"{k} {v}" for k, v in s["per_split"].items())
        lines += [
            f"Data ({summary_path}): {s['sequences']} sequences ({split}), {s['pieces']} music pieces, "
            f"{s['minutes']} min; BeatAlign {s['beat_align_mean']} (σ = {s.get('beat_align_sigma_s')} s)"
            + (f"; beat-tracking F {s['beat_f_mean']}" if s.get("beat_f_mean") is not None else "")
            + ".",
            "",
        ]
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
        if recall and kfold:
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
    comp_path = results / "comparison.json"
    if comp_path.exists():
        comp = json.loads(comp_path.read_text())
        lines += [
            f"Margins ({comp_path}): points; mean ± std over runs; 95 % paired bootstrap interval.",
            "",
            "| model | baseline | metric | margin | interval | excludes 0 |",
            "|---|---|---|---|---|---|",
        ]
        for m in comp["margins"]:
            lines.append(
                f"| {m['model']} | {m['baseline']} | {m['metric']} | {_ms(m)} | {_ci(m['ci95'])} | "
                f"{'yes' if m['excludes_zero'] else 'no'} |"
            )
        lines.append("")
    abl_path = results / "ablations" / "report.md"
    if abl_path.exists():
        text = abl_path.read_text().split("## MotionBeat", 1)[-1].split("\n## ", 1)[0].strip()
        lines += [f"MotionBeat ablations (`snakemake --cores 8 ablations`; {abl_path}):", "", text, ""]
    lines += generation_lines(results)
    if abl_path.exists() and "## Dance to music" in abl_path.read_text():
        text = abl_path.read_text().split("## Dance to music", 1)[-1].split("\n## ", 1)[0].strip()
        lines += [f"Dance-to-music ablation (`snakemake --cores 8 ablations`; {abl_path}):", "", text, ""]
    for bench in (
        "bench.json",
        "bench_shards.json",
        "bench_mclemcd.json",
        "bench_motionbeat.json",
        "bench_dance2music.json",
    ):
        path = results / bench
        if path.exists():
            lines += [
                f"Benchmark `{path}`:",
                "",
                "```",
                json.dumps(json.loads(path.read_text()), indent=1)[:4000],
                "```",
                "",
            ]
    return lines


def generation_lines(results: Path) -> list[str]:
    """Dance to music's tables (stage ``evaluate_dance2music``), when it ran."""
    path = results / "dance2music" / "evaluation.json"
    if not path.exists():
        return []
    r = json.loads(path.read_text())
    lines = [
        f"Dance to music ({path}; {len(r['runs'])} runs, {r['train_windows']} training windows; tokens on "
        f"{r['test_windows']} test windows, audio on the {r['audio_windows']} non-overlapping ones, sampling "
        f"{r['sampling']}). Mean ± std over runs; the report's dance-to-music section defines every column.",
        "",
    ]
    for header, rows in (token_table(r), audio_table(r)):
        lines += [markdown_table(header, rows), ""]
    return lines + [margin_text(r), ""]


def render(params: dict) -> str:
    root = Path(params["results_dir"])
    lines = [
        "# Measured results",
        "",
        f"Generated by `make numbers` (`python -m pipelines.tools.numbers`) at commit {_commit()} from the JSON files "
        "the pipeline writes; nothing here is typed by hand. Rerun the DAG, then `make numbers`, to refresh it. "
        "Timings belong to this project's shared 2-core machine and vary by up to 2× between runs.",
        "",
    ]
    for results in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        lines += dataset_section(results)
    for name, title in (
        ("bench_ingest.json", "Ingestion benchmark (`python -m pipelines.bench.ingest`)"),
        ("bench_ingest_scaling.json", "Ingestion on a local SLURM, 1 and 2 job slots (`make bench-cluster`)"),
        ("bench_noop.json", "No-op rerun after `make run` (`python -m pipelines.bench.noop`)"),
        ("bench_scale.json", "Data stages at 1x, 4x and 16x the synthetic set (`make bench-scale`)"),
    ):
        path = root / name
        if path.exists():
            lines += [f"{title}, `{path}`:", "", "```", path.read_text().strip()[:4000], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", default=str(REPO_ROOT / "docs" / "results.md"))
    args = parser.parse_args(argv)
    try:
        text = render(load_params(args.params))
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: {args.params}: {exc}", file=sys.stderr)
        return 1
    with atomic_file(Path(args.output), "w") as fh:
        fh.write(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
