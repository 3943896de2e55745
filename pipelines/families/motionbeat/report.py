"""MotionBeat's ablation table: every variant's retrieval, rhythm and probe numbers beside the
temporal baseline and chance (no torch), the section :func:`ablation_section` of the ablation report."""

from __future__ import annotations

import json

import numpy as np

from ...config import Paths, runs
from ...family import MAIN, model_name
from ...reports.doc import markdown_table
from .summary import RHYTHM_BASELINE


def _m2m(level: str, key: str, which: str):
    return lambda r: r["retrieval"]["windows"]["music_to_motion"][level][which][key]


def _probe(key: str):
    return lambda r: (r["rhythm"].get("beat_probe") or {}).get(key)


#: Columns: header -> (a run's value, its chance level), read from the run's evaluation JSON.
COLUMNS = {
    "piece R@1": (_m2m("piece", "R@1", "model"), _m2m("piece", "R@1", "chance")),
    "piece mAP": (_m2m("piece", "mAP", "model"), _m2m("piece", "mAP", "chance")),
    "phase top-1": (lambda r: r["rhythm"]["phase"]["top1"], lambda r: r["rhythm"]["phase"]["chance"]),
    "beat probe F": (_probe("f_measure"), _probe("chance")),
    "genre probe, music, window": (
        lambda r: r["genre_probe"]["audio"]["window_accuracy"],
        lambda r: r["genre_probe"]["audio"]["chance_window"],
    ),
    "genre probe, music, sequence": (
        lambda r: r["genre_probe"]["audio"]["sequence_accuracy"],
        lambda r: r["genre_probe"]["audio"]["chance_sequence"],
    ),
    "genre probe, motion, window": (
        lambda r: r["genre_probe"]["motion"]["window_accuracy"],
        lambda r: r["genre_probe"]["motion"]["chance_window"],
    ),
    "retrieved BeatAlign": (
        lambda r: r["rhythm"]["beat_align"]["retrieved"],
        lambda r: r["rhythm"]["beat_align"]["random_pair"],
    ),
}


#: Columns shown as scores in [0, 1] (three decimals); the others in percent.
SCORE_COLUMNS = ("retrieved BeatAlign",)


def _cell(values: list, *, percent: bool = True) -> tuple[str, dict | None]:
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return "—", None
    stats = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
    scale, fmt = (100, ".1f") if percent else (1, ".3f")
    text = f"{scale * stats['mean']:{fmt}}" + (f" ± {scale * stats['std']:{fmt}}" if v.size > 1 else "")
    return text, stats


def ablation_table(runs: dict[str, list[dict]]) -> tuple[list[str], list[list[str]], dict]:
    """Rows per variant (and baseline) from its runs' evaluation JSON, a chance row; and the numbers.

    ``runs`` maps a row name to the evaluation dicts of its runs (seeds or folds). Cells are
    mean ± std over the runs, in percent (BeatAlign: a score in [0, 1]).
    """
    header = ["variant", "runs", *COLUMNS]
    rows, numbers = [], {}
    for name, results in runs.items():
        cells, numbers[name] = [], {}
        for col, (read, _) in COLUMNS.items():
            text, stats = _cell([read(r) for r in results], percent=col not in SCORE_COLUMNS)
            cells.append(text)
            numbers[name][col] = stats
        rows.append([name, str(len(results)), *cells])
    any_run = next(iter(runs.values()))[0]
    chance_cells = [_cell([chance(any_run)], percent=c not in SCORE_COLUMNS)[0] for c, (_, chance) in COLUMNS.items()]
    rows.append(["chance", "", *chance_cells])
    numbers["chance"] = {col: chance(any_run) for col, (_, chance) in COLUMNS.items()}
    return header, rows, numbers


#: The beat probe's reference rows of evaluate_motionbeat (the main model's runs): key -> row name.
PROBE_REFERENCES = {
    "beat_probe_input": "input tokens, no encoder",
    "beat_probe_input_phase": "input tokens + bar phase, no encoder",
}


def probe_reference_rows(results: list[dict]) -> list[list[str]]:
    """Rows with only the beat probe filled: the probe on the music tokens the encoder reads."""
    rows = []
    for key, name in PROBE_REFERENCES.items():
        text, stats = _cell([(r["rhythm"].get(key) or {}).get("f_measure") for r in results])
        if stats:
            rows.append([name, str(stats["n"]), *(text if c == "beat probe F" else "—" for c in COLUMNS)])
    return rows


def ablation_section(params: dict) -> tuple[list[str], dict]:
    """The ablation report's MotionBeat section: one row per variant (``main`` and every one of
    ``motionbeat.variants``) over its first ``motionbeat.variant_seeds`` runs (every fold under
    kfold), beside the temporal baseline's runs and chance."""
    paths, cfg = Paths(params), params["motionbeat"]
    mb_runs = runs(params)
    if params["evaluate"]["protocol"] != "kfold":
        mb_runs = mb_runs[: cfg["variant_seeds"]]

    def read(model: str, model_runs: list[dict]) -> list[dict]:
        return [json.loads(paths.model_files(model, r["name"])["evaluation"].read_text()) for r in model_runs]

    table_runs = {v: read(model_name("motionbeat", v), mb_runs) for v in [MAIN, *(cfg["variants"] or {})]}
    table_runs[f"{RHYTHM_BASELINE} (baseline)"] = read(RHYTHM_BASELINE, runs(params))
    header, rows, numbers = ablation_table(table_runs)
    rows[-1:-1] = probe_reference_rows(read("motionbeat", mb_runs))
    return [
        "## MotionBeat",
        "",
        "Each variant turns one part of MotionBeat off (main: all on; infonce: plain symmetric InfoNCE on the same "
        "encoder, no extra negatives, no rhythm alignment loss; no_phase: token-index positions instead of the "
        "bar-phase rotation). Test windows of the retrieval protocol; mean ± std over "
        f"{len(mb_runs)} run(s) per variant ({', '.join(r['name'] for r in mb_runs)}); percent, BeatAlign a score in [0, 1]. Phase top-1: the true "
        f"motion against the same dance moved by {', '.join(f'{k:+g}' for k in params['rhythm']['phase_shifts_beats'])} beats and "
        "another dance at the same tempo. Beat probe: linear probe on frozen per-step music states, F ±70 ms.",
        "",
        markdown_table(header, rows),
    ], numbers
