"""Write ``docs/results.md`` from the files the pipeline wrote: ``make numbers``.

``python -m pipelines.tools.numbers --params params.yaml [--output docs/results.md]``

For every dataset with results under ``results_dir`` it reads the data report's
``summary.json``, each model's ``summary/<model>.json`` (stage ``summarize``) and
``comparison.json``, the ablation report and the benchmark JSON files when present, and writes
them as Markdown tables; nothing in the file is typed by hand. Each section names the files it
came from.

The page is a header and ``## `` sections, one per source: a dataset's results
(``## `<dataset>```), its ablations (``## `<dataset>`: ablations``, target ``ablations``) and
each benchmark file (``## Benchmark `results/…json```). Below its heading every section states
the commit and date it came from (``_From commit <sha> (<date>)._``). A section is rewritten
only when its files are on disk; every other section of the existing page (another dataset's
results, a benchmark that was not rerun) is kept verbatim, so a fresh ``make run`` of one
dataset keeps the rest. A rewritten section whose text did not change keeps its commit line,
so a rerun changes nothing. A page written before sections had commit lines is split at its
benchmark and ablation paragraphs and each part gets the commit its header named.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
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


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _commit() -> str:
    return _git("rev-parse", "--short", "HEAD") or "unknown"


def _commit_date(commit: str) -> str:
    """The commit's date (YYYY-MM-DD), or ``date unknown``."""
    return (_git("show", "-s", "--format=%cs", commit) if commit != "unknown" else "") or "date unknown"


def dataset_section(results: Path) -> list[str]:
    """Markdown lines for one dataset's results folder (empty when it holds no headline)."""
    heads = {m: results / "summary" / f"{m}.json" for m in SCORED_MODELS}
    if not all(p.exists() for p in heads.values()):
        return []
    head = {m: json.loads(p.read_text()) for m, p in heads.items()}
    first = max(head.values(), key=lambda h: len(h["runs"]))  # a learned model: every run
    kfold = first["protocol"] == "kfold"
    lines = [_dataset_heading(results.name), ""]
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
    lines += generation_lines(results)
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


# Benchmarks a dataset's results folder may hold (``make bench``) and those in ``results_dir`` itself.
DATASET_BENCHES = (
    "bench.json",
    "bench_shards.json",
    "bench_mclemcd.json",
    "bench_motionbeat.json",
    "bench_dance2music.json",
)
ROOT_BENCHES = {
    "bench_ingest.json": "Ingestion benchmark (`python -m pipelines.bench.ingest`)",
    "bench_ingest_scaling.json": "Ingestion on a local SLURM, 1 and 2 job slots (`make bench-cluster`)",
    "bench_noop.json": "No-op rerun after `make run` (`python -m pipelines.bench.noop`)",
    "bench_scale.json": "Data stages at 1x, 4x and 16x the synthetic set (`make bench-scale`)",
}

HEADER = [
    "# Measured results",
    "",
    "Generated by `make numbers` (`python -m pipelines.tools.numbers`) from the JSON files the pipeline writes; "
    "nothing here is typed by hand. Rerun the DAG, then `make numbers`, to refresh it. Each section states the "
    "commit and date it came from; a section whose files are not on disk (another dataset's results, a benchmark "
    "that was not rerun) is kept as it was. Timings belong to this project's shared 2-core machine and vary by up "
    "to 2× between runs.",
]

COMMIT_LINE = "_From commit {commit} ({date})._"
COMMIT_RE = re.compile(r"^_From commit (?P<commit>\S+) \((?P<date>[^)]*)\)\._$")
LEGACY_COMMIT_RE = re.compile(r"at commit (?P<commit>[0-9a-f]{4,40}|unknown)\b")
DATASET_HEADING_RE = re.compile(r"^## `(?P<dataset>[^`]+)`$")
ABLATION_HEADING_RE = re.compile(r"^## `(?P<dataset>[^`]+)`: ablations$")
BENCH_HEADING_RE = re.compile(r"^## Benchmark `(?P<path>[^`]+)`$")
# Paragraphs that started a benchmark or an ablation table inside a dataset section before sections had headings.
LEGACY_BENCH_RE = re.compile(r"^(?:Benchmark `(?P<path>[^`]+\.json)`|.+, `(?P<root_path>[^`]+\.json)`):$")
LEGACY_ABLATION_RE = re.compile(r"^(?:MotionBeat ablations|Dance-to-music ablation) \(")
LEGACY_DATASET_RE = re.compile(r"^Dance to music \(")


def _dataset_heading(name: str) -> str:
    return f"## `{name}`"


def _ablation_heading(name: str) -> str:
    return f"## `{name}`: ablations"


def _bench_heading(shown: str) -> str:
    return f"## Benchmark `{shown}`"


def _shown(path: Path, root: Path) -> str:
    """``path`` as the page names it: from the results folder's own name on (``results/…``)."""
    return (Path(root.name) / path.relative_to(root)).as_posix()


def ablation_lines(results: Path) -> list[str]:
    """The MotionBeat and dance-to-music ablation tables (target ``ablations``), when they ran."""
    abl_path = results / "ablations" / "report.md"
    if not abl_path.exists():
        return []
    report = abl_path.read_text()
    text = report.split("## MotionBeat", 1)[-1].split("\n## ", 1)[0].strip()
    lines = [f"MotionBeat ablations (`snakemake --cores 8 ablations`; {abl_path}):", "", text, ""]
    if "## Dance to music" in report:
        text = report.split("## Dance to music", 1)[-1].split("\n## ", 1)[0].strip()
        lines += [f"Dance-to-music ablation (`snakemake --cores 8 ablations`; {abl_path}):", "", text, ""]
    return lines


def bench_lines(path: Path, title: str, *, indent: int | None = None) -> list[str]:
    text = json.dumps(json.loads(path.read_text()), indent=indent) if indent else path.read_text().strip()
    return [f"{title}:", "", "```", text[:4000], "```", ""]


def generated_sections(root: Path) -> dict[str, list[str]]:
    """The sections the files under ``root`` make, heading → lines (the heading first, no commit line)."""
    sections: dict[str, list[str]] = {}
    for results in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        lines = dataset_section(results)
        if lines:
            sections[lines[0]] = lines
        lines = ablation_lines(results)
        if lines:
            sections[_ablation_heading(results.name)] = [_ablation_heading(results.name), "", *lines]
        for name in DATASET_BENCHES:
            path = results / name
            if path.exists():
                heading = _bench_heading(_shown(path, root))
                sections[heading] = [heading, "", *bench_lines(path, f"Benchmark `{path}`", indent=1)]
    for name, title in ROOT_BENCHES.items():
        path = root / name
        if path.exists():
            heading = _bench_heading(_shown(path, root))
            sections[heading] = [heading, "", *bench_lines(path, f"{title}, `{path}`")]
    return sections


def _trim(lines: list[str]) -> list[str]:
    """Without leading and trailing blank lines."""
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _split(text: str) -> tuple[list[str], list[list[str]]]:
    """The header's lines and each ``## `` section's lines (heading first); headings inside code blocks don't count."""
    header: list[str] = []
    sections: list[list[str]] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            header.append(line)
    return header, sections


def _split_legacy(sections: list[list[str]]) -> list[list[str]]:
    """A page from before commit lines: its benchmark and ablation paragraphs become sections of their own."""
    out: dict[str, list[str]] = {}
    for section in sections:
        heading = section[0]
        match = DATASET_HEADING_RE.match(heading)
        dataset = match["dataset"] if match else None
        current = heading
        out.setdefault(current, [])
        fenced = False
        for line in section[1:]:
            if line.startswith("```"):
                fenced = not fenced
            if not fenced and (bench := LEGACY_BENCH_RE.match(line)):
                current = _bench_heading(bench["path"] or bench["root_path"])
            elif not fenced and dataset and LEGACY_ABLATION_RE.match(line):
                current = _ablation_heading(dataset)
            elif not fenced and dataset and LEGACY_DATASET_RE.match(line):
                current = heading
            out.setdefault(current, []).append(line)
    return [[heading, "", *_trim(body)] for heading, body in out.items() if _trim(body)]


def _with_commit(section: list[str], commit: str, date: str) -> list[str]:
    """The section with a commit line below its heading unless it already states one."""
    if any(COMMIT_RE.match(line) for line in section):
        return section
    return [section[0], "", COMMIT_LINE.format(commit=commit, date=date), "", *_trim(section[1:])]


def _body(section: list[str]) -> list[str]:
    """The section's text below its heading, without its commit line."""
    return _trim([line for line in section[1:] if not COMMIT_RE.match(line)])


def _order(heading: str, position: int) -> tuple:
    """Datasets by name, each followed by its ablations and benchmarks; then the machine's benchmarks; then the rest."""
    if match := DATASET_HEADING_RE.match(heading):
        return (0, match["dataset"], 0, 0, "")
    if match := ABLATION_HEADING_RE.match(heading):
        return (0, match["dataset"], 1, 0, "")
    if match := BENCH_HEADING_RE.match(heading):
        parts = match["path"].split("/")
        if len(parts) == 3:
            names = list(DATASET_BENCHES)
            return (0, parts[1], 2, names.index(parts[2]) if parts[2] in names else len(names), parts[2])
        if len(parts) == 2:
            names = list(ROOT_BENCHES)
            return (1, "", 0, names.index(parts[1]) if parts[1] in names else len(names), parts[1])
    return (2, "", 0, position, "")


def render(params: dict, existing: str | None = None, *, commit: str | None = None, date: str | None = None) -> str:
    """The page: regenerated sections where their files are on disk, ``existing``'s other sections verbatim.

    ``commit`` and ``date`` go into the commit line of each regenerated section whose text changed
    (default: ``HEAD`` and today).
    """
    root = Path(params["results_dir"])
    commit = commit or _commit()
    date = date or datetime.date.today().isoformat()
    old_header, old_sections = _split(existing or "")
    if old_sections and not any(COMMIT_RE.match(line) for section in old_sections for line in section):
        found = LEGACY_COMMIT_RE.search("\n".join(old_header))
        legacy = found["commit"] if found else "unknown"
        old_date = _commit_date(legacy)
        old_sections = [_with_commit(s, legacy, old_date) for s in _split_legacy(old_sections)]
    kept = {s[0]: _trim(s) for s in old_sections}
    sections = dict(kept)
    for heading, lines in generated_sections(root).items():
        lines = "\n".join(lines).split("\n")  # one line an item, as the page is read back
        old = kept.get(heading)
        if old is not None and _body(old) == _body(lines):
            continue  # same text as before: keep where it came from
        sections[heading] = _with_commit(_trim(lines), commit, date)
    ordered = sorted(enumerate(sections.items()), key=lambda item: _order(item[1][0], item[0]))
    lines = [*HEADER, ""]
    for _, (_, section) in ordered:
        lines += [*_with_commit(section, "unknown", "date unknown"), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", default=str(REPO_ROOT / "docs" / "results.md"))
    args = parser.parse_args(argv)
    output = Path(args.output)
    try:
        existing = output.read_text(encoding="utf-8") if output.exists() else None
        text = render(load_params(args.params), existing)
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: {args.params}: {exc}", file=sys.stderr)
        return 1
    with atomic_file(output, "w") as fh:
        fh.write(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
