"""Stage ``fit_tokenizer``: the offline audio tokenizer of dance-to-music, fitted on the training music.

``python -m pipelines.families.dance2music.stage_fit_tokenizer --params params.yaml``

Runs when ``dance2music.tokenizer`` is ``mel_kmeans`` (EnCodec needs no fitting). Reads the music
of the index's train sequences (each file once; ``audio_path`` of ``index/sequences.csv``; not
the pieces stage ``audio_features`` left out under ``on_error: skip``),
computes log-mel frames at ``dance2music.mel_kmeans`` (resampled to its ``sample_rate``) and fits
the residual k-means codebooks (:func:`pipelines.families.dance2music.tokenizer.fit_mel_kmeans`, at most
``max_frames`` frames, seeded by ``seed``). Writes

- ``models/<dataset>/dance2music/tokenizer.npz`` (:meth:`MelKMeansTokenizer.save`);
- ``results/<dataset>/dance2music/tokenizer.json`` (a DVC metric): files and frames per split, and
  the quantisation error with 1 … K codebooks on the train and val music, as mean squared error
  over the frames' variance (1 = no better than the mean frame).
"""

from __future__ import annotations

import logging

import numpy as np

from ...cli import run_stage
from ...config import Paths
from ...data.audio_io import read_audio_mono
from ...data.items import with_audio_features
from ...files import read_csv, write_json
from .files import tokenizer_files
from .tokenizer import MelKMeansTokenizer, fit_mel_kmeans, log_mel_frames

log = logging.getLogger(__name__)


def music_frames(params: dict, audio_paths: list[str]) -> np.ndarray:
    """Log-mel frames (N, n_mels) of these files at the tokenizer's settings, concatenated."""
    cfg, a = params["dance2music"]["mel_kmeans"], params["audio"]
    out = []
    for path in audio_paths:
        y, sr = read_audio_mono(path, min_sample_rate=a["min_sample_rate"], min_seconds=a["min_seconds"])
        out.append(
            log_mel_frames(
                y,
                sr=sr,
                sample_rate=cfg["sample_rate"],
                n_fft=cfg["n_fft"],
                hop_length=cfg["hop_length"],
                n_mels=cfg["n_mels"],
            )
        )
    return np.concatenate(out) if out else np.zeros((0, cfg["n_mels"]))


def relative_errors(tokenizer: MelKMeansTokenizer, frames: np.ndarray) -> list[float]:
    """Mean squared quantisation error with the first 1 … K codebooks, over the frames' variance."""
    if frames.shape[0] == 0:
        return []
    codes = tokenizer.quantize(frames)
    variance = float(np.mean((frames - frames.mean(axis=0)) ** 2))
    out, approx = [], np.zeros_like(frames)
    for k in range(tokenizer.n_codebooks):
        approx = approx + tokenizer.centroids[k][codes[k]]
        out.append(round(float(np.mean((frames - approx) ** 2)) / max(variance, 1e-12), 6))
    return out


def main(params: dict) -> None:
    cfg = params["dance2music"]["mel_kmeans"]
    paths = Paths(params)
    rows = with_audio_features(paths, read_csv(paths.index / "sequences.csv"))  # not the music it skipped
    files = {split: sorted({r["audio_path"] for r in rows if r["split"] == split}) for split in ("train", "val")}
    files["val"] = [f for f in files["val"] if f not in set(files["train"])]
    train = music_frames(params, files["train"])
    tokenizer = fit_mel_kmeans(
        train,
        n_codebooks=cfg["n_codebooks"],
        codebook_size=cfg["codebook_size"],
        sample_rate=cfg["sample_rate"],
        n_fft=cfg["n_fft"],
        hop_length=cfg["hop_length"],
        griffin_lim_iters=cfg["griffin_lim_iters"],
        max_frames=cfg["max_frames"],
        seed=params["seed"],
    )
    val = music_frames(params, files["val"])
    out = tokenizer_files(params)
    out["tokenizer"].parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(out["tokenizer"])
    metrics = {
        "tokenizer": "mel_kmeans",
        "files": {k: len(v) for k, v in files.items()},
        "frames": {
            "train": int(train.shape[0]),
            "val": int(val.shape[0]),
            "fitted_on": min(len(train), cfg["max_frames"]),
        },
        "frame_rate": tokenizer.frame_rate,
        "relative_error_by_codebooks": {
            "train": relative_errors(tokenizer, train),
            "val": relative_errors(tokenizer, val),
        },
    }
    write_json(out["metrics"], metrics)
    log.info(
        "tokenizer: %d x %d codes from %d train frames (%d files); val error with 1..%d codebooks %s -> %s",
        tokenizer.n_codebooks,
        tokenizer.codebook_size,
        train.shape[0],
        len(files["train"]),
        tokenizer.n_codebooks,
        metrics["relative_error_by_codebooks"]["val"],
        out["tokenizer"],
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
