"""The dance-to-music section of the model report (stage ``evaluate_dance2music``'s numbers and samples)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ...config import Paths
from ...reports.doc import Doc, markdown_table
from .files import generation_results

#: Row label of each scored set of audio in evaluation.json.
AUDIO_ROWS = {
    "nearest_neighbour": "nearest neighbour (training window nearest in pose, its real music)",
    "unigram": "unigram (codes drawn from the training frequencies)",
    "round_trip": "tokenizer round trip of the true music (ceiling)",
    "real": "real music (no tokens)",
}


def _num(value, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _spread(stat: dict, digits: int = 3) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _audio_cells(a: dict) -> list[str]:
    cross, genre = a.get("crossmodal"), a.get("genre")
    cm = cross["exact"]["model"] if cross else None
    return [
        _num(a.get("mel_error")),
        _num(a.get("timbre_error")),
        _num(a["beat_coverage"], 2),
        _num(a["beat_hit"], 2),
        _num(a["beat_align"]),
        f"{100 * cm['R@1']:.1f}" if cm else "—",
        f"{100 * cm['R@5']:.1f}" if cm else "—",
        _num(cm["median_rank"], 1) if cm else "—",
        f"{100 * genre['accuracy']:.1f}" if genre else "—",
    ]


def token_table(r: dict) -> tuple[list[str], list[list[str]]]:
    """Token scores of the model (teacher-forced and free-running) and the baselines, from evaluation.json."""
    model = r["model"]
    uni, nn = r["baselines"]["unigram"]["tokens"], r["baselines"]["nearest_neighbour"]["tokens"]
    keys = ("cross_entropy", "perplexity", "accuracy")
    return (
        ["tokens", "cross-entropy (nats)", "perplexity", "accuracy"],
        [
            ["model, teacher-forced"] + [_spread(model[f"teacher_forced_{k}"]) for k in keys],
            ["model, free-running"] + [_spread(model[f"free_running_{k}"]) for k in keys],
            [
                "unigram (accuracy: its most frequent code)",
                _num(uni["cross_entropy"]),
                _num(uni["perplexity"], 1),
                _num(uni["accuracy"]),
            ],
            ["nearest neighbour", "—", "—", _num(nn["accuracy"])],
        ],
    )


def audio_table(r: dict) -> tuple[list[str], list[list[str]]]:
    """Scores of the generated audio (mean ± std over runs) and of the baselines' audio, from evaluation.json."""
    runs, model = sorted(r["runs"]), r["model"]
    header = ["audio", "mel error ↓", "timbre error ↓", "beat coverage", "beat hit", "BeatAlign"]
    header += ["R@1 %", "R@5 %", "medR ↓", "genre %"]
    cross = "crossmodal_rank" in model
    rows = [
        ["model"]
        + [
            _spread(model[k]) if k in model else "—"
            for k in ("mel_error", "timbre_error", "beat_coverage", "beat_hit", "beat_align")
        ]
        + [
            f"{100 * _mean_run(r, runs, 'R@1'):.1f}" if cross else "—",
            f"{100 * _mean_run(r, runs, 'R@5'):.1f}" if cross else "—",
            _num(_mean_run(r, runs, "median_rank"), 1) if cross else "—",
            _spread({k: 100 * v for k, v in model["genre_correct"].items() if k in ("mean", "std")}, 1)
            if "genre_correct" in model
            else "—",
        ]
    ]
    for name, label in AUDIO_ROWS.items():
        if name in r["baselines"]:
            rows.append([label] + _audio_cells(r["baselines"][name]["audio"]))
    return header, rows


def margin_text(r: dict) -> str:
    """The model's margins over the nearest neighbour (and the unigram, where evaluated) with their
    intervals, one sentence each."""
    out = []
    for baseline in ("nearest_neighbour", "unigram"):
        margins = r.get(f"margin_over_{baseline}")
        if not margins:
            continue
        parts = []
        for key, m in margins.items():
            verdict = "interval excludes 0" if m["excludes_zero"] else "interval includes 0"
            parts.append(f"{key} {m['margin']:+.3f} [{m['interval'][0]:+.3f}, {m['interval'][1]:+.3f}] ({verdict})")
        out.append(
            f"Model minus {baseline.replace('_', ' ')}, per window (model averaged over runs), 95 % paired bootstrap "
            "over windows (lower is better for the errors and the rank; beat coverage is best near 1): "
            + "; ".join(parts)
            + "."
        )
    return " ".join(out)


def generation_section(params: dict, doc: Doc) -> None:
    """Token and audio tables, the margins over the nearest neighbour, and the samples' players."""
    files = generation_results(params)
    r = json.loads(files["metrics"].read_text())
    runs = sorted(r["runs"])
    doc.h(2, "Dance to music: generated audio")
    doc.p(
        f"Pose → {r['tokenizer']} tokens → audio (pipelines/families/dance2music/model.py), {len(runs)} training runs, "
        f"{r['train_windows']} training windows of {params['dance2music']['seconds']} s. Token scores on all "
        f"{r['test_windows']} test windows; audio scores on the {r['audio_windows']} non-overlapping ones, sampled with "
        f"temperature {r['sampling']['temperature']}, top-k {r['sampling']['top_k']}, guidance {r['sampling']['guidance']}. "
        "Model values are mean ± std over runs."
    )
    doc.table(*token_table(r))
    doc.table(*audio_table(r))
    first = r["baselines"]["real"]["audio"]
    chance = first["crossmodal"]["exact"]["chance"] if first.get("crossmodal") else None
    genre = first.get("genre")
    doc.p(
        f"Beat coverage is the generated beats over the dance's kinetic beats, beat hit the share of kinetic beats with a "
        f"generated beat within ± {params['dance2music']['beat_hit_tolerance_s']} s (D2M-GAN's definitions, against the dance); "
        f"BeatAlign is the data report's (σ = {params['evaluate']['beat_align_sigma_s']} s). Mel error: the log-mel the codes "
        "stand for against the true codes', over the true frames' variance (0 is the ceiling by definition; random frames "
        "of the right kind give about 2); timbre error: the same for the window's mean spectrum (the sound's colour, "
        "whatever the timing). R@K and medR: the dance's own window ranked among the "
        f"{r['audio_windows']} test windows by the main temporal retrieval model with the audio as the query"
        + (f" (chance R@1 {100 * chance['R@1']:.1f} %, medR {chance['median_rank']:.1f})" if chance else "")
        + "; genre: the evaluation's genre probe on that model's music embeddings, against the dance's genre"
        + (f" (majority class {100 * genre['chance']:.1f} %)." if genre else ".")
    )
    doc.p(margin_text(r))
    rel = files["samples"].relative_to(Paths(params).results)
    for s in r["samples"]:
        doc.h(3, f"{s['sequence']} ({s['genre']}) from {s['start_s']:.1f} s")
        doc.image(
            f"generate_{s['sequence']}",
            files["samples"] / s["spectrogram"],
            "Log-mel spectrograms of the same seconds.",
        )
        doc.media(
            [("video", f"{rel}/{s['videos'][k]}", f"dance with the {k} music") for k in ("real", "generated")]
            + [("audio", f"{rel}/{s['audio'][k]}", k.replace("_", " ")) for k in s["audio"]]
        )


def _mean_run(r: dict, runs: list[str], key: str) -> float:
    values = [r["runs"][k]["audio"]["crossmodal"]["exact"]["model"][key] for k in runs]
    return sum(values) / len(values)


#: Columns of the generator's ablation table: (evaluation.json key under ``model``, header).
ABLATION_COLUMNS = (
    ("mel_error", "mel error ↓"),
    ("timbre_error", "timbre error ↓"),
    ("beat_hit", "beat hit"),
    ("beat_align", "BeatAlign"),
    ("genre_correct", "genre"),
    ("teacher_forced_perplexity", "perplexity, teacher-forced ↓"),
    ("free_running_perplexity", "perplexity, free-running ↓"),
)


def ablation_markdown(results: dict[str, dict], *, runs: int) -> str:
    """Markdown table of generator variants (``variant -> evaluation.json``), each over its first
    ``runs`` runs (mean ± std), beside the nearest-neighbour baseline of the main evaluation."""
    from ...reports.doc import markdown_table

    header = ["variant", *(h for _, h in ABLATION_COLUMNS)]
    rows = []
    for name, r in results.items():
        cells = []
        for key, _ in ABLATION_COLUMNS:
            stat = r["model"].get(key)
            values = stat["values"][:runs] if stat else []
            cells.append(
                f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}" if values else "—"
            )
        rows.append([name, *cells])
    nn = next(iter(results.values()))["baselines"]["nearest_neighbour"]["audio"]
    rows.append(["nearest neighbour (baseline)", *(_num(nn.get(k)) if k in nn else "—" for k, _ in ABLATION_COLUMNS)])
    return markdown_table(header, rows)


def ablation_section(params: dict) -> list[str]:
    """The ablation report's dance-to-music section: the main generator and every variant of
    ``dance2music.variants``, each over its first ``dance2music.variant_seeds`` runs."""
    cfg = params["dance2music"]
    n = cfg["variant_seeds"]
    variants = ["main", *(cfg["variants"] or {})]
    generated = {v: json.loads(generation_results(params, v)["metrics"].read_text()) for v in variants}
    described = "; ".join(
        f"{v}: " + ", ".join(f"`dance2music.{k}` = {val}" for k, val in o.items())
        for v, o in (cfg["variants"] or {}).items()
    )
    return [
        "## Dance to music",
        "",
        f"main: the `dance2music` params; each variant changes them ({described}). "
        f"Mean ± std over the first {n} run(s) of each; test split, scores as in the report's dance-to-music section.",
        "",
        ablation_markdown(generated, runs=n),
    ]


def numbers_lines(results: Path) -> list[str]:
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
