"""Drum and bass stems of mono audio: HPSS (offline), HT-Demucs or Spleeter.

The backends and their weights are described in :mod:`pipelines.stages.stems`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import librosa
import numpy as np
from scipy.signal import butter, sosfiltfilt

from ..errors import InputError

log = logging.getLogger(__name__)
STEMS = ("drums", "bass", "drums_bass")


def hpss_stems(y: np.ndarray, *, sr: int, margin: float, bass_cutoff_hz: float) -> dict[str, np.ndarray]:
    """Drums = percussive part; bass = harmonic part below ``bass_cutoff_hz`` (4th-order Butterworth)."""
    harmonic, percussive = librosa.effects.hpss(y, margin=margin)
    sos = butter(4, bass_cutoff_hz, btype="lowpass", fs=sr, output="sos")
    bass = sosfiltfilt(sos, harmonic).astype(np.float32)
    drums = percussive.astype(np.float32)
    return {"drums": drums, "bass": bass, "drums_bass": drums + bass}


def load_demucs(checkpoint: str | Path):
    """An HT-Demucs model from a local demucs package file."""
    path = Path(checkpoint)
    if not path.is_file():
        raise InputError(
            path, "HT-Demucs weights not found: put the htdemucs checkpoint (.th) there, or set stems.demucs_checkpoint"
        )
    from demucs_infer.states import load_model

    return load_model(path).eval()


def demucs_stems(model, y: np.ndarray, *, sr: int) -> dict[str, np.ndarray]:
    """Drums and bass from HT-Demucs; input and output at ``sr`` Hz, mono."""
    import torch
    from demucs_infer.apply import apply_model

    x = librosa.resample(y, orig_sr=sr, target_sr=model.samplerate) if sr != model.samplerate else y
    wav = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None].repeat(model.audio_channels, 1)
    with torch.no_grad():
        device = next(model.parameters()).device  # where load_backend put it
        out = apply_model(model, wav[None], split=True, overlap=0.25, progress=False, device=device)[0].cpu()
    stems = {}
    for name in ("drums", "bass"):
        s = out[model.sources.index(name)].mean(dim=0).numpy()
        s = librosa.resample(s, orig_sr=model.samplerate, target_sr=sr) if sr != model.samplerate else s
        stems[name] = s[: y.size].astype(np.float32)
    stems["drums_bass"] = stems["drums"] + stems["bass"]
    return stems


def load_spleeter(model_dir: str | Path, *, n_stems: int):
    """A Spleeter ``Separator`` for the ``<n_stems>stems`` checkpoint in ``model_dir`` (no download)."""
    path = Path(model_dir) / f"{n_stems}stems"
    if not (path / "checkpoint").is_file():
        raise InputError(
            path,
            f"Spleeter {n_stems}stems weights not found: extract the released "
            f"{n_stems}stems.tar.gz there (checkpoint, model.index, model.data-*), "
            "or set stems.spleeter_model_dir",
        )
    # Spleeter's model provider treats <MODEL_PATH>/<name>/.probe as "already downloaded".
    os.environ["MODEL_PATH"] = str(Path(model_dir).resolve())
    (path / ".probe").touch()
    from spleeter.separator import Separator

    return Separator(f"spleeter:{n_stems}stems", multiprocess=False)


def spleeter_stems(separator, y: np.ndarray, *, sr: int, n_stems: int, cfg: dict) -> dict[str, np.ndarray]:
    """Drums and bass from Spleeter; input and output at ``sr`` Hz, mono."""
    model_sr = separator._params["sample_rate"]
    x = librosa.resample(y, orig_sr=sr, target_sr=model_sr) if sr != model_sr else y
    out = separator.separate(np.stack([x, x], axis=1).astype(np.float32))

    def mono(name: str) -> np.ndarray:
        m = out[name].mean(axis=1)
        m = librosa.resample(m, orig_sr=model_sr, target_sr=sr) if sr != model_sr else m
        return np.pad(m, (0, max(0, y.size - m.size)))[: y.size].astype(np.float32)

    if n_stems == 2:
        return hpss_stems(mono("accompaniment"), sr=sr, margin=cfg["hpss_margin"], bass_cutoff_hz=cfg["bass_cutoff_hz"])
    drums, bass = mono("drums"), mono("bass")
    return {"drums": drums, "bass": bass, "drums_bass": drums + bass}


def load_backend(cfg: dict, *, device: str = "cpu"):
    """The separation model of ``cfg["backend"]`` (None for hpss); HT-Demucs on the torch ``device``
    (Spleeter's TensorFlow places itself: on a GPU when its CUDA libraries find one)."""
    if cfg["backend"] == "demucs":
        return load_demucs(cfg["demucs_checkpoint"]).to(device)
    if cfg["backend"] == "spleeter":
        return load_spleeter(cfg["spleeter_model_dir"], n_stems=cfg["spleeter_stems"])
    return None


def separate(y: np.ndarray, *, sr: int, cfg: dict, model=None) -> dict[str, np.ndarray]:
    if cfg["backend"] == "hpss":
        return hpss_stems(y, sr=sr, margin=cfg["hpss_margin"], bass_cutoff_hz=cfg["bass_cutoff_hz"])
    model = model if model is not None else load_backend(cfg)
    if cfg["backend"] == "demucs":
        return demucs_stems(model, y, sr=sr)
    if cfg["backend"] == "spleeter":
        return spleeter_stems(model, y, sr=sr, n_stems=cfg["spleeter_stems"], cfg=cfg)
    raise ValueError(f"unknown stem backend {cfg['backend']!r}")


def backend_config(cfg: dict) -> dict:
    """The ``stems`` params that shape the active backend's output (a clip is redone when they change)."""
    keys = {
        "hpss": ["hpss_margin", "bass_cutoff_hz"],
        "demucs": ["demucs_checkpoint"],
        "spleeter": ["spleeter_model_dir", "spleeter_stems"]
        + (["hpss_margin", "bass_cutoff_hz"] if cfg.get("spleeter_stems") == 2 else []),
    }[cfg["backend"]]
    return {"backend": cfg["backend"], **{k: cfg[k] for k in keys}}
