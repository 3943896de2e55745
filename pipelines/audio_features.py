"""Stage ``audio_features``: per-piece music features on the motion frame grid.

Audio is resampled to ``sr = motion_fps * hop_length`` (30720 Hz for AIST++, 12800 Hz for
MusicToDance) so that analysis frame ``i`` (centred at ``i * hop_length / sr`` s) is
motion frame ``i``. One ``<piece>.npz`` per music piece holds:

================  ============  ======================================================
``logmel``        (T, n_mels)   log-mel power spectrogram, dB re 1.0 (float32)
``mfcc``          (T, n_mfcc)   MFCC from the log-mel (float32)
``onset_env``     (T,)          spectral-flux onset strength, arbitrary units (float32)
``tempogram``     (T, win)      autocorrelation tempogram of ``onset_env``, lag 0..win-1 frames
``beats``         (T,)          1 on estimated beat frames, else 0 (uint8)
``downbeats``     (T,)          1 on estimated downbeat frames, else 0 (uint8)
``beat_frames``   (B,)          estimated beat frame indices (int64)
``tempo_bpm``     ()            global tempo estimate, beats per minute
``beats_per_bar`` ()            metre chosen for the downbeat estimate
``sample_rate``   ()            analysis sample rate, Hz
``hop_length``    ()            samples per frame
================  ============  ======================================================

Downbeats: librosa has no downbeat tracker, so bars are placed on the beat phase where the
spectrum changes most (chords change on bar lines), over the candidate metres in params.
"""

from __future__ import annotations

import logging
from pathlib import Path

import librosa
import numpy as np

from .audio_io import read_audio_mono
from .common import InputError, Skips, atomic_dir, n_workers, parallel_map, read_csv, run_stage
from .config import Paths, audio_sample_rate, motion_fps

log = logging.getLogger(__name__)


def beat_sync_change(*, logmel: np.ndarray, beat_frames: np.ndarray) -> np.ndarray:
    """Spectral change at each beat, shape (B,): distance (dB) between the mean log-mel
    spectra of the inter-beat segments that end and start at that beat.

    ``logmel`` has shape (n_mels, T). Chords and bass lines change on bar lines, so the
    change is largest on downbeats.
    """
    seg = librosa.util.sync(logmel, beat_frames, aggregate=np.mean)  # (n_mels, B + 1)
    change = np.linalg.norm(np.diff(seg, axis=1), axis=0)            # boundary i+1 = beat i
    return change[: beat_frames.size]


def estimate_downbeats(*, beat_frames: np.ndarray, beat_accent: np.ndarray,
                       candidates: list[int]) -> tuple[np.ndarray, int]:
    """Choose the metre and bar phase whose downbeats stand out most.

    Parameters
    ----------
    beat_frames : np.ndarray, shape (B,)
        Beat frame indices.
    beat_accent : np.ndarray, shape (B,)
        Accent of each beat (e.g. :func:`beat_sync_change`).
    candidates : list of int
        Metres (beats per bar) to try.

    Returns
    -------
    downbeat_frames : np.ndarray, shape (D,)
    beats_per_bar : int
    """
    if beat_frames.size < 2:
        return beat_frames.copy(), candidates[0]
    a = (beat_accent - beat_accent.mean()) / (beat_accent.std() + 1e-9)
    best = (-np.inf, candidates[0], 0)
    for metre in candidates:
        for phase in range(metre):
            sel = a[phase::metre]
            rest = np.delete(a, np.arange(phase, a.size, metre))
            if sel.size == 0 or rest.size == 0:
                continue
            score = sel.mean() - rest.mean()
            if score > best[0] + 1e-9:
                best = (score, metre, phase)
    _, metre, phase = best
    return beat_frames[phase::metre], metre


def extract_audio_features(y: np.ndarray, *, sr_in: int, sr: int, hop_length: int, n_fft: int,
                           n_mels: int, n_mfcc: int, tempogram_win_length: int,
                           beats_per_bar: list[int]) -> dict:
    """Compute the features listed in the module docstring from mono samples ``y`` at ``sr_in`` Hz."""
    if sr_in != sr:
        y = librosa.resample(y, orig_sr=sr_in, target_sr=sr)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=n_mfcc)
    onset = librosa.onset.onset_strength(S=logmel, sr=sr, hop_length=hop_length)
    tempogram = librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=hop_length,
                                          win_length=tempogram_win_length)
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=hop_length,
                                                 units="frames")
    beat_frames = np.asarray(beat_frames, dtype=np.int64)
    downbeat_frames, metre = estimate_downbeats(
        beat_frames=beat_frames, beat_accent=beat_sync_change(logmel=logmel, beat_frames=beat_frames),
        candidates=beats_per_bar)
    T = logmel.shape[1]
    beats = np.zeros(T, np.uint8)
    beats[beat_frames[beat_frames < T]] = 1
    downbeats = np.zeros(T, np.uint8)
    downbeats[downbeat_frames[downbeat_frames < T]] = 1
    return {
        "logmel": logmel.T.astype(np.float32), "mfcc": mfcc.T.astype(np.float32),
        "onset_env": onset.astype(np.float32), "tempogram": tempogram.T.astype(np.float32),
        "beats": beats, "downbeats": downbeats, "beat_frames": beat_frames,
        "tempo_bpm": np.float64(np.atleast_1d(tempo)[0]), "beats_per_bar": np.int64(metre),
        "sample_rate": np.int64(sr), "hop_length": np.int64(hop_length),
    }


def _one_piece(job: tuple) -> tuple[str, str | None, InputError | None]:
    piece, audio_path, params, out_dir = job
    a = params["audio"]
    try:
        y, sr_in = read_audio_mono(audio_path, min_sample_rate=a["min_sample_rate"], min_seconds=a["min_seconds"])
    except InputError as err:
        return piece, None, err
    feats = extract_audio_features(y, sr_in=sr_in, sr=audio_sample_rate(params), hop_length=a["hop_length"],
                                   n_fft=a["n_fft"], n_mels=a["n_mels"], n_mfcc=a["n_mfcc"],
                                   tempogram_win_length=a["tempogram_win_length"],
                                   beats_per_bar=a["beats_per_bar"])
    out = Path(out_dir) / f"{piece}.npz"
    np.savez(out, **feats)
    return piece, str(out), None


def warm_up_jit(params: dict) -> None:
    """Compile librosa's numba kernels once, in this process, before workers fork.

    Workers then inherit the compiled code. Without this, every worker compiles and writes
    numba's on-disk cache at the same time, which can leave a corrupt cache that crashes
    (SIGSEGV) every later run.
    """
    a = params["audio"]
    sr = audio_sample_rate(params)
    y = np.random.default_rng(0).standard_normal(4 * sr).astype(np.float32) * 0.1
    extract_audio_features(y, sr_in=sr, sr=sr, hop_length=a["hop_length"], n_fft=a["n_fft"], n_mels=a["n_mels"],
                           n_mfcc=a["n_mfcc"], tempogram_win_length=a["tempogram_win_length"],
                           beats_per_bar=a["beats_per_bar"])


def main(params: dict) -> None:
    paths = Paths(params)
    rows = read_csv(paths.index / "sequences.csv")
    pieces = sorted({(r["piece"], r["audio_path"]) for r in rows})
    skips = Skips(params["on_error"])
    warm_up_jit(params)
    with atomic_dir(paths.audio_features) as tmp:
        results = parallel_map(_one_piece, [(p, a, params, tmp) for p, a in pieces], workers=n_workers(params))
        for piece, _, err in results:
            if err is not None:
                skips.handle(piece, err)
        skips.write(tmp / "skipped.csv")
    log.info("audio features: %d pieces at %d Hz (%d fps), %d skipped", len(pieces) - len(skips.rows),
             audio_sample_rate(params), motion_fps(params), len(skips.rows))


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
