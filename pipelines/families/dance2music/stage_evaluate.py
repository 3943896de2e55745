"""Stage ``evaluate_dance2music``: dance to music scored on the test split, beside its baselines.

``python -m pipelines.families.dance2music.stage_evaluate --params params.yaml [--variant V]``

``--variant V`` (target ``ablations``) scores that variant's runs instead
(``results/<dataset>/dance2music/V/evaluation.json``, no samples).

Every training run (``models/<dataset>/dance2music/seed<K>.pt``) and three baselines
(:mod:`pipelines.families.dance2music.scores`): the nearest-neighbour window's real codes, codes drawn
from the training unigram, and the tokenizer round trip of the true music (the ceiling). The
real music itself is scored too, where a score does not need tokens.

- **Tokens**, on every test window: cross-entropy (nats/token), perplexity and accuracy,
  teacher-forced and free-running (the true codes scored while the decoder reads the model's
  own generated codes); the unigram's perplexity and most-frequent-code accuracy; the exact
  share of codes the nearest neighbour gets right.
- **Generated audio**, on the non-overlapping test windows (one every ``dance2music.seconds``):
  codes generated with ``dance2music.sampling`` (seeded), rendered by the tokenizer, then
  mel error (the generated codes' log-mel against the true codes', over the true frames' variance),
  timbre error (the same for the window's mean spectrum: the sound's colour whatever the timing);
  beat coverage, beat hit (± ``dance2music.beat_hit_tolerance_s``) and BeatAlign
  (``evaluate.beat_align_sigma_s``) against the dance's kinetic beats; the cross-modal check and
  the genre probe by the main ``temporal`` retrieval model
  (:mod:`pipelines.families.dance2music.music_checks`; not for ``youtube``, where no retrieval model
  trains, nor when ``dance2music.seconds`` is shorter than its ``train.window_frames``).
- **Margins**: model minus nearest neighbour, and model minus unigram, per window (the model's
  value is the mean over its runs), with a paired bootstrap interval over the windows
  (``evaluate.bootstrap_draws``).

Writes ``results/<dataset>/dance2music/evaluation.json`` (a DVC metric) and
``results/<dataset>/dance2music/samples/``: for the first ``dance2music.samples`` test sequences one
window each, the wav of the real music, its round trip, the generated music (run 0) and the
nearest neighbour's; a spectrogram figure of the four; and two stick-figure videos of the dance,
one with the real music and one with the generated, for the report.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import torch

from ...cli import run_stage
from ...config import Paths, run_seed, seed_indices
from ...data.audio_io import read_audio_mono
from ...data.skeleton import Skeleton
from ...datasets import dataset, motion_fps, skeleton_layout
from ...evaluation.stats import excludes_zero, mean_std, paired_bootstrap_ci
from ...files import write_json
from ...training.checkpoint import load_checkpoint
from .data import GenerationSet, split_windows
from .files import generation_results, generator_files
from .model import generator_from_checkpoint, generator_variant
from .music_checks import crossmodal_check, genre_check, music_inputs
from .scores import (
    audio_beats,
    nearest_windows,
    rhythm_scores,
    sample_unigram,
    summarize_tokens,
    token_scores,
    unigram,
    unigram_scores,
)
from .tokenizer import load_tokenizer, log_mel_frames
from .training import code_logmels, generate_codes, mel_error, timbre_error

log = logging.getLogger(__name__)

#: Scores of the generated audio, per window; higher is better except for ``mel_error``.
AUDIO_SCORES = (
    "mel_error",
    "timbre_error",
    "beat_coverage",
    "beat_hit",
    "beat_align",
    "crossmodal_rank",
    "genre_correct",
)


def non_overlapping(windows: GenerationSet, *, frames: int) -> np.ndarray:
    """Indices of windows that share no frame with an earlier kept window of their sequence."""
    last: dict[str, int] = {}
    keep = []
    for i, m in enumerate(windows.meta):
        if m["sequence"] not in last or m["pose_start"] >= last[m["sequence"]] + frames:
            keep.append(i)
            last[m["sequence"]] = m["pose_start"]
    return np.array(keep, dtype=np.int64)


def real_music(params: dict, meta: list[dict], *, seconds: float, sr: int) -> list[np.ndarray]:
    """The real music of each window, from the dance's first frame, at ``sr``."""
    import librosa

    fps, a = motion_fps(params), params["audio"]
    cache: dict[str, tuple[np.ndarray, int]] = {}
    out = []
    for m in meta:
        if m["audio_path"] not in cache:
            y, file_sr = read_audio_mono(
                m["audio_path"], min_sample_rate=a["min_sample_rate"], min_seconds=a["min_seconds"]
            )
            cache[m["audio_path"]] = (librosa.resample(y, orig_sr=file_sr, target_sr=sr) if file_sr != sr else y, sr)
        y, _ = cache[m["audio_path"]]
        start = int(round((m["pose_start"] / fps + m["audio_offset_s"]) * sr))
        seg = y[max(start, 0) : max(start, 0) + int(round(seconds * sr))]
        out.append(np.pad(seg, (0, int(round(seconds * sr)) - len(seg))).astype(np.float32))
    return out


def kinetic_beats(params: dict, meta: list[dict], *, frames: int) -> list[np.ndarray]:
    """The dance's kinetic beats (s from the window's first frame) of each window."""
    fps, out = motion_fps(params), []
    for m in meta:
        with np.load(Paths(params).motion_features / f"{m['sequence']}.npz") as z:
            beats = np.flatnonzero(z["kinetic_beats"][m["pose_start"] : m["pose_start"] + frames])
        out.append(beats / fps)
    return out


def audio_scores(
    params: dict, *, audio: list[np.ndarray], sr: int, meta: list[dict], kinetic: list[np.ndarray]
) -> dict:
    """Per-window rhythm, cross-modal rank and genre correctness of one set of audio (one per window)."""
    cfg = params["dance2music"]
    rows = [
        rhythm_scores(
            music_beats_s=audio_beats(y, sr=sr),
            kinetic_beats_s=k,
            tolerance_s=cfg["beat_hit_tolerance_s"],
            sigma_s=params["evaluate"]["beat_align_sigma_s"],
        )
        for y, k in zip(audio, kinetic)
    ]
    queries = [
        {"audio": y, "sr": sr, "sequence": m["sequence"], "pose_start": m["pose_start"], "genre": m["genre"]}
        for y, m in zip(audio, meta)
    ]
    out = {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}
    if not dataset(params).labelled:  # the retrieval models need genres and pieces (Family.needs_labels)
        why_not = f"no retrieval model trains on unlabelled data (dataset {params['dataset']})"
        out["summary"] = {"crossmodal": None, "genre": None, "why_not": why_not}
        return out
    if len(audio[0]) / sr * motion_fps(params) < params["train"]["window_frames"] + 1:
        out["summary"] = {
            "crossmodal": None,
            "genre": None,
            "why_not": "dance2music.seconds is shorter than the retrieval window (train.window_frames)",
        }
        return out
    temporal = Paths(params).model_files("temporal", "seed0")["checkpoint"]
    music = music_inputs(params, queries=queries)
    cross = crossmodal_check(params, checkpoint=temporal, queries=queries, music=music)
    genre = genre_check(params, checkpoint=temporal, queries=queries, seed=params["seed"], music=music)
    out["crossmodal_rank"] = np.array(cross["exact_ranks"], dtype=np.float64)
    out["genre_correct"] = np.array(genre["correct"], dtype=np.float64)
    out["summary"] = {
        "crossmodal": {k: cross[k] for k in ("exact", "sequence", "n_queries")},
        "genre": {k: genre[k] for k in ("accuracy", "chance", "majority_class", "n_queries")},
    }
    return out


def summarize_audio(scores: dict) -> dict:
    """Means of the per-window scores (NaN windows left out) and the retrieval summary."""
    out = {k: float(np.nanmean(scores[k])) for k in AUDIO_SCORES if k in scores and k != "crossmodal_rank"}
    return {**out, **scores["summary"]}


def write_samples(
    params: dict,
    out_dir: Path,
    *,
    windows: GenerationSet,
    index: np.ndarray,
    sets: dict[str, list[np.ndarray]],
    tokenizer,
) -> list[dict]:
    """Wavs, a spectrogram figure and two videos for the first ``dance2music.samples`` windows of distinct sequences."""
    from ...ingest.youtube import ffmpeg_exe
    from .media import spectrogram_figure, stick_figure_video, write_wav

    fps, sr = motion_fps(params), tokenizer.sample_rate
    skeleton = Skeleton(skeleton_layout(params))
    seen, chosen = set(), []
    for j, i in enumerate(index):
        if windows.meta[i]["sequence"] not in seen and len(chosen) < params["dance2music"]["samples"]:
            seen.add(windows.meta[i]["sequence"])
            chosen.append(j)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = []
    for j in chosen:
        m = windows.meta[index[j]]
        name = f"{m['sequence']}_{m['pose_start']}"
        files = {k: write_wav(out_dir / f"{name}_{k}.wav", sets[k][j], sr=sr).name for k in sets}
        hop = int(round(sr / tokenizer.frame_rate))
        logmels = {
            k: log_mel_frames(sets[k][j], sr=sr, sample_rate=sr, n_fft=4 * hop, hop_length=hop, n_mels=64) for k in sets
        }
        fig = spectrogram_figure(
            out_dir / f"{name}_spectrograms.png",
            logmels=logmels,
            frame_rate=tokenizer.frame_rate,
            title=f"{m['sequence']} from {m['pose_start'] / fps:.1f} s ({m['genre']})",
        )
        with np.load(Paths(params).motion_features / f"{m['sequence']}.npz") as z:
            sl = slice(m["pose_start"], m["pose_start"] + windows.pose.shape[1])
            positions = z["joints"][sl].astype(np.float64) + z["root"][sl][:, None]
            positions[z["nan_mask"][sl].astype(bool)] = np.nan
        videos = {}
        for k in ("real", "generated"):
            videos[k] = stick_figure_video(
                out_dir / f"{name}_{k}.mp4",
                positions=positions,
                skeleton=skeleton,
                fps=fps,
                audio=out_dir / files[k],
                ffmpeg=ffmpeg_exe(),
            ).name
        samples.append(
            {
                "sequence": m["sequence"],
                "genre": m["genre"],
                "start_s": m["pose_start"] / fps,
                "audio": files,
                "spectrogram": fig.name,
                "videos": videos,
            }
        )
    return samples


def variant_runs(params: dict, variant: str) -> list[int]:
    """Training runs of a generator variant: every seed for ``main``, ``dance2music.variant_seeds`` for a variant."""
    runs = seed_indices(params)
    return runs if variant == "main" else runs[: params["dance2music"]["variant_seeds"]]


def main(params: dict, *, variant: str = "main") -> None:
    cfg, ecfg = params["dance2music"], params["evaluate"]
    tokenizer = load_tokenizer(params)
    inputs = generator_variant(params, variant)  # the variant's pose inputs (no_rhythm: without the rhythm channels)
    train, test = split_windows(inputs, "train", tokenizer), split_windows(inputs, "test", tokenizer)
    frames = test.pose.shape[1]
    idx = non_overlapping(test, frames=frames)
    audio_set = test.subset(idx)
    sr, seconds = tokenizer.sample_rate, cfg["seconds"]
    kinetic = kinetic_beats(params, audio_set.meta, frames=frames)
    device = torch.device("cpu")
    result: dict = {
        "tokenizer": cfg["tokenizer"],
        "test_windows": len(test),
        "audio_windows": len(audio_set),
        "train_windows": len(train),
        "sampling": cfg["sampling"],
        "variant": variant,
        "runs": {},
    }
    # baselines
    probs = unigram(train.codes, codebook_size=tokenizer.codebook_size)
    nn_idx = nearest_windows(train.pose, train.mask, test.pose, test.mask)
    nn_codes = train.codes[nn_idx]
    uni_codes = sample_unigram(probs, shape=audio_set.codes.shape, seed=params["seed"])
    result["baselines"] = {
        "unigram": {"tokens": unigram_scores(probs, test.codes)},
        "nearest_neighbour": {"tokens": {"accuracy": float(np.mean(nn_codes == test.codes))}},
    }
    code_sets = {"nearest_neighbour": nn_codes[idx], "unigram": uni_codes, "round_trip": audio_set.codes}
    per_window: dict[str, dict] = {}
    runs, runs_k = [], variant_runs(params, variant)
    for k in variant_runs(params, variant):
        ckpt = load_checkpoint(
            generator_files(params, f"seed{k}", variant)["checkpoint"], missing_hint="run stage train_dance2music first"
        )
        model = generator_from_checkpoint(ckpt).to(device)
        teacher = summarize_tokens(
            token_scores(model, pose=test.pose, mask=test.mask, true=test.codes, read=test.codes, device=device)
        )
        gen = generate_codes(model, audio_set, sampling=cfg["sampling"], seed=run_seed(params, k), device=device)
        free = summarize_tokens(
            token_scores(model, pose=audio_set.pose, mask=audio_set.mask, true=audio_set.codes, read=gen, device=device)
        )
        free["accuracy"] = float(np.mean(gen == audio_set.codes))
        name = f"seed{k}"
        code_sets[name] = gen
        runs.append(name)
        result["runs"][name] = {
            "tokens": {"teacher_forced": teacher, "free_running": free},
            "best_epoch": ckpt["record"]["best_epoch"],
        }
    rendered = {name: [tokenizer.detokenize(c) for c in codes] for name, codes in code_sets.items()}
    true_mels = code_logmels(tokenizer, audio_set.codes)
    rendered["real"] = real_music(params, audio_set.meta, seconds=seconds, sr=sr)
    for name, audio in rendered.items():
        scores = audio_scores(params, audio=audio, sr=sr, meta=audio_set.meta, kinetic=kinetic)
        if name != "real":
            mels = code_logmels(tokenizer, code_sets[name])
            scores["mel_error"] = mel_error(mels, true_mels)
            scores["timbre_error"] = timbre_error(mels, true_mels)
        per_window[name] = scores
        target = result["runs"][name] if name in result["runs"] else result["baselines"].setdefault(name, {})
        target["audio"] = summarize_audio(scores)
        log.info("%s: %s", name, {k: round(v, 3) for k, v in target["audio"].items() if isinstance(v, float)})
    # the model over its runs, and its margins over the nearest neighbour and the unigram per window
    model_stats, margins = {}, {"nearest_neighbour": {}, "unigram": {}}
    for key in (k for k in AUDIO_SCORES if k in per_window["nearest_neighbour"]):
        per_run = [float(np.nanmean(per_window[r][key])) for r in runs]
        model_stats[key] = mean_std(per_run)
        model_mean = np.mean([per_window[r][key] for r in runs], axis=0)
        for baseline, out in margins.items():
            ok = np.isfinite(model_mean) & np.isfinite(per_window[baseline][key])
            a, b = model_mean[ok], per_window[baseline][key][ok]
            interval = paired_bootstrap_ci(a, b, draws=ecfg["bootstrap_draws"], seed=params["seed"])
            out[key] = {
                "margin": float(a.mean() - b.mean()),
                "interval": interval,
                "excludes_zero": excludes_zero(interval),
                "windows": int(ok.sum()),
            }
    for part in ("teacher_forced", "free_running"):
        for key in ("cross_entropy", "perplexity", "accuracy"):
            model_stats[f"{part}_{key}"] = mean_std([result["runs"][r]["tokens"][part][key] for r in runs])
    result["model"] = model_stats
    result["margin_over_nearest_neighbour"] = margins["nearest_neighbour"]
    result["margin_over_unigram"] = margins["unigram"]
    paths = generation_results(params, variant)
    if variant == "main":  # the report's samples: real, round trip, generated (run 0) and nearest neighbour
        tmp = paths["samples"].with_name(paths["samples"].name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        sets = {k: rendered[k] for k in ("real", "round_trip", f"seed{runs_k[0]}", "nearest_neighbour")}
        sets = {"generated" if k.startswith("seed") else k: v for k, v in sets.items()}
        result["samples"] = write_samples(
            params, tmp, windows=audio_set, index=np.arange(len(audio_set)), sets=sets, tokenizer=tokenizer
        )
        shutil.rmtree(paths["samples"], ignore_errors=True)
        tmp.rename(paths["samples"])
    write_json(paths["metrics"], result)
    log.info(
        "generate: %d runs scored on %d windows (%d with audio) -> %s",
        len(runs),
        len(test),
        len(audio_set),
        paths["metrics"],
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], varianted=True))
