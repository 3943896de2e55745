"""Music features on the motion frame grid: log-mel, MFCC, onset envelope, tempogram, beats, downbeats.

Audio is analysed at ``sr = motion_fps * hop_length`` so that analysis frame ``i`` (centred at
``i * hop_length / sr`` s) is motion frame ``i``; :func:`extract_audio_features` returns the
arrays listed in :mod:`pipelines.stages.audio_features`.

Downbeats: librosa has no downbeat tracker, so bars are placed on the beat phase where the
spectrum changes most (chords change on bar lines), over the candidate metres in params.
"""

from __future__ import annotations

import logging

import librosa
import numpy as np

from ..datasets import audio_sample_rate

log = logging.getLogger(__name__)


def beat_sync_change(*, logmel: np.ndarray, beat_frames: np.ndarray) -> np.ndarray:
    """Spectral change at each beat, shape (B,): distance (dB) between the mean log-mel
    spectra of the inter-beat segments that end and start at that beat.

    ``logmel`` has shape (n_mels, T). Chords and bass lines change on bar lines, so the
    change is largest on downbeats.
    """
    seg = librosa.util.sync(logmel, beat_frames, aggregate=np.mean)  # (n_mels, B + 1)
    change = np.linalg.norm(np.diff(seg, axis=1), axis=0)  # boundary i+1 = beat i
    return change[: beat_frames.size]


def estimate_downbeats(
    *, beat_frames: np.ndarray, beat_accent: np.ndarray, candidates: list[int]
) -> tuple[np.ndarray, int]:
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


def extract_audio_features(
    y: np.ndarray,
    *,
    sr_in: int,
    sr: int,
    hop_length: int,
    n_fft: int,
    n_mels: int,
    n_mfcc: int,
    tempogram_win_length: int,
    beats_per_bar: list[int],
) -> dict:
    """Compute the features listed in the module docstring from mono samples ``y`` at ``sr_in`` Hz."""
    if sr_in != sr:
        y = librosa.resample(y, orig_sr=sr_in, target_sr=sr)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=n_mfcc)
    onset = librosa.onset.onset_strength(S=logmel, sr=sr, hop_length=hop_length)
    tempogram = librosa.feature.tempogram(
        onset_envelope=onset, sr=sr, hop_length=hop_length, win_length=tempogram_win_length
    )
    tempo, beat_frames = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=hop_length, units="frames")
    beat_frames = np.asarray(beat_frames, dtype=np.int64)
    downbeat_frames, metre = estimate_downbeats(
        beat_frames=beat_frames,
        beat_accent=beat_sync_change(logmel=logmel, beat_frames=beat_frames),
        candidates=beats_per_bar,
    )
    T = logmel.shape[1]
    beats = np.zeros(T, np.uint8)
    beats[beat_frames[beat_frames < T]] = 1
    downbeats = np.zeros(T, np.uint8)
    downbeats[downbeat_frames[downbeat_frames < T]] = 1
    return {
        "logmel": logmel.T.astype(np.float32),
        "mfcc": mfcc.T.astype(np.float32),
        "onset_env": onset.astype(np.float32),
        "tempogram": tempogram.T.astype(np.float32),
        "beats": beats,
        "downbeats": downbeats,
        "beat_frames": beat_frames,
        "tempo_bpm": np.float64(np.atleast_1d(tempo)[0]),
        "beats_per_bar": np.int64(metre),
        "sample_rate": np.int64(sr),
        "hop_length": np.int64(hop_length),
    }


def warm_up_jit(params: dict) -> None:
    """Compile librosa's numba kernels once, in this process, before workers fork.

    Workers then inherit the compiled code. Without this, every worker compiles and writes
    numba's on-disk cache at the same time, which can leave a corrupt cache that crashes
    (SIGSEGV) every later run.
    """
    kwargs = audio_feature_kwargs(params)
    y = np.random.default_rng(0).standard_normal(4 * kwargs["sr"]).astype(np.float32) * 0.1
    extract_audio_features(y, sr_in=kwargs["sr"], **kwargs)


def audio_feature_kwargs(params: dict) -> dict:
    """The keyword arguments of :func:`extract_audio_features` that params fix: the analysis
    sample rate and the ``audio`` section."""
    a = params["audio"]
    keys = ("hop_length", "n_fft", "n_mels", "n_mfcc", "tempogram_win_length", "beats_per_bar")
    return {"sr": audio_sample_rate(params), **{k: a[k] for k in keys}}
