"""Stage ``encodec``: EnCodec codes of every clip's drum+bass stem, and the way back.

``python -m pipelines.encodec_codes --params params.yaml`` encodes
``<youtube.target>/clip_*/drums_bass.wav`` with the ``transformers`` ``EncodecModel`` at
``encodec.bandwidth_kbps`` (1.5 kbps = 2 codebooks at 75 frames/s for the 24 kHz model; a 5-s
clip of 120000 samples gives 2 × 375 codes — DanceToMusic's 2 × 377 came from 120640 samples) and writes ``codes.npz`` beside it: ``codes`` (n_codebooks, frames)
int16, ``frame_rate`` (Hz), ``sample_rate`` (Hz) and ``bandwidth_kbps``. Clips already done
with the same ``encodec`` params are skipped; ``<target>/codes_summary.json`` lists every clip.

Weights come from ``encodec.model`` — a local directory (``save_pretrained`` layout) or a
Hugging Face id found in the local cache. With ``HF_HUB_OFFLINE=1`` nothing is fetched; a
model that is not there fails with one line saying where to put it.
:func:`decode_codes` turns codes back into a waveform.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import librosa
import numpy as np
import torch

from .audio_io import read_audio_mono
from .common import InputError, atomic_file, clip_done, mark_clip_done, run_stage, sha256_file

log = logging.getLogger(__name__)


def load_encodec(model: str):
    """EncodecModel from a local directory or the Hugging Face cache (never a silent download
    when ``HF_HUB_OFFLINE`` is set)."""
    from transformers import EncodecModel

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        m = EncodecModel.from_pretrained(model, local_files_only=offline or Path(model).exists())
    except (OSError, ValueError) as exc:
        raise InputError(model, "EnCodec weights not found: put a save_pretrained() folder there, or the "
                                "facebook/encodec_24khz files in the Hugging Face cache (HF_HOME)") from exc
    return m.eval()


@torch.no_grad()
def encode(model, y: np.ndarray, *, sr: int, bandwidth_kbps: float) -> np.ndarray:
    """Codes (n_codebooks, frames) of mono audio ``y`` at ``sr`` Hz."""
    target = model.config.sampling_rate
    if sr != target:
        y = librosa.resample(y, orig_sr=sr, target_sr=target)
    x = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None]
    out = model.encode(x, bandwidth=bandwidth_kbps)
    codes = out.audio_codes  # (chunks, batch, n_q, frames)
    return codes[0, 0].cpu().numpy().astype(np.int16)


@torch.no_grad()
def decode_codes(model, codes: np.ndarray) -> np.ndarray:
    """Waveform (samples,) at ``model.config.sampling_rate`` from codes (n_codebooks, frames)."""
    c = torch.from_numpy(codes.astype(np.int64))[None, None]
    audio = model.decode(c, [None])[0]
    return audio[0, 0].cpu().numpy()


def frame_rate(model) -> float:
    """Code frames per second of ``model``."""
    return model.config.sampling_rate / float(np.prod(model.config.upsampling_ratios))


def process_clips(clips_dir: Path, cfg: dict) -> list[dict]:
    """Encode every clip not yet done with ``cfg``; returns one summary row per clip."""
    stems = sorted(Path(clips_dir).glob("clip_*/drums_bass.wav"))
    todo = [w for w in stems if not clip_done(w.parent, "encodec", cfg, ["codes.npz"], inputs=["drums_bass.wav"])]
    model = load_encodec(cfg["model"]) if todo else None
    for wav in todo:
        y, sr = read_audio_mono(wav, min_sample_rate=8000, min_seconds=0.5)
        codes = encode(model, y, sr=sr, bandwidth_kbps=cfg["bandwidth_kbps"])
        with atomic_file(wav.with_name("codes.npz"), "wb") as fh:
            np.savez(fh, codes=codes, frame_rate=np.float64(frame_rate(model)),
                     sample_rate=np.int64(model.config.sampling_rate), bandwidth_kbps=np.float64(cfg["bandwidth_kbps"]))
        mark_clip_done(wav.parent, "encodec", cfg)
    return [{"clip": w.parent.name, "reused": w not in todo, "sha256": sha256_file(w.with_name("codes.npz"))}
            for w in stems]


def main(params: dict) -> None:
    target = Path(params["youtube"]["target"])
    summary = process_clips(target, params["encodec"])
    with atomic_file(target / "codes_summary.json", "w") as fh:
        json.dump(summary, fh, indent=2)
    log.info("encodec: %d clips encoded, %d reused", sum(not r["reused"] for r in summary),
             sum(r["reused"] for r in summary))


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
