"""Stage ``stems``: drum and bass stems of every clip's audio.

``python -m pipelines.stems --params params.yaml`` writes beside each
``<youtube.target>/clip_*/audio.wav``: ``drums.wav``, ``bass.wav`` and ``drums_bass.wav``
(their sum), at the clip's sample rate.

Backends (``stems.backend``):

- ``hpss`` (offline, no weights, the default): librosa's harmonic–percussive separation; the
  percussive part is the drum stem, the harmonic part low-passed at ``stems.bass_cutoff_hz``
  the bass stem.
- ``demucs``: HT-Demucs through ``demucs-infer``, weights from the local checkpoint
  ``stems.demucs_checkpoint`` (a demucs package file such as ``htdemucs.th``; it is a pickle,
  so only use files you trust). Missing weights fail with one line saying where to put them.

Clips already done are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

from .audio_io import read_audio_mono
from .common import InputError, atomic_file, run_stage

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
        raise InputError(path, "HT-Demucs weights not found: put the htdemucs checkpoint (.th) there, "
                               "or set stems.demucs_checkpoint")
    from demucs_infer.states import load_model

    return load_model(path).eval()


def demucs_stems(model, y: np.ndarray, *, sr: int) -> dict[str, np.ndarray]:
    """Drums and bass from HT-Demucs; input and output at ``sr`` Hz, mono."""
    import torch
    from demucs_infer.apply import apply_model

    x = librosa.resample(y, orig_sr=sr, target_sr=model.samplerate) if sr != model.samplerate else y
    wav = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None].repeat(model.audio_channels, 1)
    with torch.no_grad():
        out = apply_model(model, wav[None], split=True, overlap=0.25, progress=False, device="cpu")[0]
    stems = {}
    for name in ("drums", "bass"):
        s = out[model.sources.index(name)].mean(dim=0).numpy()
        s = librosa.resample(s, orig_sr=model.samplerate, target_sr=sr) if sr != model.samplerate else s
        stems[name] = s[: y.size].astype(np.float32)
    stems["drums_bass"] = stems["drums"] + stems["bass"]
    return stems


def separate(y: np.ndarray, *, sr: int, cfg: dict, model=None) -> dict[str, np.ndarray]:
    if cfg["backend"] == "hpss":
        return hpss_stems(y, sr=sr, margin=cfg["hpss_margin"], bass_cutoff_hz=cfg["bass_cutoff_hz"])
    if cfg["backend"] == "demucs":
        return demucs_stems(model if model is not None else load_demucs(cfg["demucs_checkpoint"]), y, sr=sr)
    raise ValueError(f"unknown stem backend {cfg['backend']!r}")


def process_clips(clips_dir: Path, cfg: dict) -> int:
    todo = [w for w in sorted(Path(clips_dir).glob("clip_*/audio.wav"))
            if not all(w.with_name(f"{s}.wav").exists() for s in STEMS)]
    model = load_demucs(cfg["demucs_checkpoint"]) if todo and cfg["backend"] == "demucs" else None
    done = 0
    for wav in todo:
        y, sr = read_audio_mono(wav, min_sample_rate=8000, min_seconds=0.5)
        for name, stem in separate(y, sr=sr, cfg=cfg, model=model).items():
            with atomic_file(wav.with_name(f"{name}.wav"), "wb") as fh:
                sf.write(fh, np.clip(stem, -1, 1), sr, format="WAV", subtype="FLOAT")
        done += 1
    return done


def main(params: dict) -> None:
    n = process_clips(Path(params["youtube"]["target"]), params["stems"])
    log.info("stems (%s): %d clips separated", params["stems"]["backend"], n)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
