"""Stage ``stems``: drum and bass stems of every clip's audio.

``python -m pipelines.stems --params params.yaml`` writes beside each
``<youtube.target>/clip_*/audio.wav``: ``drums.wav``, ``bass.wav`` and ``drums_bass.wav``
(their sum), at the clip's sample rate.

Backend ``hpss`` (offline, no weights): librosa's harmonic–percussive separation; the
percussive part is the drum stem, and the harmonic part low-passed at ``stems.bass_cutoff_hz``
is the bass stem. Clips already done are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

from .audio_io import read_audio_mono
from .common import atomic_file, run_stage

log = logging.getLogger(__name__)
STEMS = ("drums", "bass", "drums_bass")


def hpss_stems(y: np.ndarray, *, sr: int, margin: float, bass_cutoff_hz: float) -> dict[str, np.ndarray]:
    """Drums = percussive part; bass = harmonic part below ``bass_cutoff_hz`` (4th-order Butterworth)."""
    harmonic, percussive = librosa.effects.hpss(y, margin=margin)
    sos = butter(4, bass_cutoff_hz, btype="lowpass", fs=sr, output="sos")
    bass = sosfiltfilt(sos, harmonic).astype(np.float32)
    drums = percussive.astype(np.float32)
    return {"drums": drums, "bass": bass, "drums_bass": drums + bass}


def separate(y: np.ndarray, *, sr: int, cfg: dict) -> dict[str, np.ndarray]:
    if cfg["backend"] == "hpss":
        return hpss_stems(y, sr=sr, margin=cfg["hpss_margin"], bass_cutoff_hz=cfg["bass_cutoff_hz"])
    raise ValueError(f"unknown stem backend {cfg['backend']!r}")


def process_clips(clips_dir: Path, cfg: dict) -> int:
    done = 0
    for wav in sorted(Path(clips_dir).glob("clip_*/audio.wav")):
        if all(wav.with_name(f"{s}.wav").exists() for s in STEMS):
            continue
        y, sr = read_audio_mono(wav, min_sample_rate=8000, min_seconds=0.5)
        for name, stem in separate(y, sr=sr, cfg=cfg).items():
            with atomic_file(wav.with_name(f"{name}.wav"), "wb") as fh:
                sf.write(fh, np.clip(stem, -1, 1), sr, format="WAV", subtype="FLOAT")
        done += 1
    return done


def main(params: dict) -> None:
    n = process_clips(Path(params["youtube"]["target"]), params["stems"])
    log.info("stems (%s): %d clips separated", params["stems"]["backend"], n)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
