"""MotionBeat's ablation table: every variant's retrieval, rhythm and probe numbers beside the
temporal baseline and chance (no torch). :mod:`pipelines.stages.ablation_report` writes it."""

from __future__ import annotations

import numpy as np


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


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"
