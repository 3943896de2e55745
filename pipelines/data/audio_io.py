"""Reading audio files: wav/flac/ogg/mp3 through libsndfile, anything else through
ffmpeg (the binary shipped by the ``imageio-ffmpeg`` package, so no system install)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import InputError


def _ffmpeg_decode(path: Path) -> tuple[np.ndarray, int]:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    sr = None
    for line in probe.stderr.splitlines():
        if "Audio:" in line and " Hz" in line:
            sr = int(line.split(" Hz")[0].split()[-1])
            break
    if sr is None:
        raise InputError(path, "no audio stream found")
    out = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(sr), "-"],
        capture_output=True,
    )
    if out.returncode != 0:
        raise InputError(path, f"ffmpeg could not decode: {out.stderr.decode(errors='replace').strip()[:200]}")
    return np.frombuffer(out.stdout, dtype="<f4").astype(np.float32), sr


def wav_truncation(path: Path) -> str | None:
    """For a RIFF/WAVE file, a reason string if its data chunk is cut short, else None.

    libsndfile silently reads what is there, so a download cut off halfway would pass
    as a shorter piece; the header still says how long it should be.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = path.stat().st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            cid, clen = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if cid == b"data":
                have = size - pos - 8
                if clen not in (0, 0xFFFFFFFF) and have < clen:
                    return f"truncated: header declares {clen} data bytes, file holds {have}"
                return None
            pos += 8 + clen + (clen & 1)
    return "truncated: no data chunk"


#: Music whose peak stays below this level, dBFS, is refused as silent (``min_peak_dbfs``): -60 dBFS
#: is 1/1000 of full scale, far below any mastered music yet above dither and codec noise.
SILENT_PEAK_DBFS = -60.0


def peak_dbfs(y: np.ndarray) -> float:
    """Peak level of samples in [-1, 1], dB relative to full scale (``-inf`` for digital silence)."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def read_audio_mono(
    path: str | Path, *, min_sample_rate: int, min_seconds: float, min_peak_dbfs: float | None = None
) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32.

    Parameters
    ----------
    path : str or Path
        Audio file.
    min_sample_rate : int
        Refuse files sampled below this rate, Hz.
    min_seconds : float
        Refuse files shorter than this, seconds.
    min_peak_dbfs : float, optional
        Refuse files whose peak is below this level, dBFS, as silent (music callers pass
        :data:`SILENT_PEAK_DBFS`); None (the default) accepts silence, e.g. a clip's stem that
        may legitimately be empty.

    Returns
    -------
    y : np.ndarray, shape (n_samples,)
        Samples in [-1, 1].
    sr : int
        The file's sample rate, Hz.

    Raises
    ------
    InputError
        Missing, empty, truncated or undecodable file; too low a rate; too short; silent.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "audio file not found")
    if path.stat().st_size == 0:
        raise InputError(path, "audio file is empty (0 bytes)")
    truncated = wav_truncation(path)
    if truncated:
        raise InputError(path, truncated)
    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
        y = y.mean(axis=1)
    except sf.LibsndfileError:
        y, sr = _ffmpeg_decode(path)
    except RuntimeError as exc:  # soundfile raises RuntimeError on short reads of broken files
        raise InputError(path, f"truncated or corrupt audio: {exc}") from exc
    if sr < min_sample_rate:
        raise InputError(path, f"sample rate {sr} Hz is below the minimum {min_sample_rate} Hz")
    if y.size == 0:
        raise InputError(path, "audio has no samples")
    if y.size < min_seconds * sr:
        raise InputError(path, f"audio is {y.size / sr:.2f} s long, shorter than the minimum {min_seconds} s")
    if not np.all(np.isfinite(y)):
        raise InputError(path, "audio holds NaN or infinite samples")
    if min_peak_dbfs is not None:
        level = peak_dbfs(y)
        if level < min_peak_dbfs:
            raise InputError(path, f"silent: peak {level:.1f} dBFS is below {min_peak_dbfs:g} dBFS")
    return np.ascontiguousarray(y, dtype=np.float32), int(sr)
