"""HDF5 shards: the field layout, compression settings and the chunk-aligned writer.

The file layout is described in :mod:`pipelines.stages.shards`, which writes one shard per
window size and split; :mod:`pipelines.data.torch_data` reads them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import h5py
import numpy as np

from ..errors import InputError
from ..files import sha256_file

log = logging.getLogger(__name__)

MOTION_FIELDS = ("joints", "root", "bones", "velocity", "kinetic_beats", "nan_mask")
AUDIO_FIELDS = ("logmel", "mfcc", "onset_env", "tempogram", "beats", "downbeats")
MAX_SHORT_CODES = 2  # code frames (27 ms at 75 Hz) a clip's codes may fall short of a window by
INDEX_DTYPE = np.dtype(
    [
        ("sequence", "S64"),
        ("piece", "S32"),
        ("genre", "S8"),
        ("dancer", "S8"),
        ("split", "S8"),
        ("start_frame", "<i4"),
        ("audio_start_frame", "<i4"),
    ]
)
UNITS = {
    "motion/joints": "body units (mean torso length), root-centred",
    "motion/root": "body units",
    "motion/bones": "body units",
    "motion/velocity": "body units / s",
    "motion/kinetic_beats": "0/1",
    "motion/nan_mask": "0/1",
    "audio/logmel": "dB re 1",
    "audio/mfcc": "MFCC coefficients",
    "audio/onset_env": "onset strength (a.u.)",
    "audio/tempogram": "autocorrelation (a.u.)",
    "audio/beats": "0/1",
    "audio/downbeats": "0/1",
    "codes/encodec": "EnCodec codebook indices",
}


def compression_settings(cfg: dict) -> dict:
    """h5py ``create_dataset`` keywords for the ``shards`` params (``compression``, ``compression_level``)."""
    if cfg["compression"] == "none":
        return {}
    if cfg["compression"] == "lzf":
        return {"compression": "lzf", "shuffle": True}
    return {"compression": "gzip", "compression_opts": cfg["compression_level"], "shuffle": True}


class _SequenceCache:
    """Holds the feature arrays of the last sequence read (windows come in sequence order)."""

    def __init__(self, motion_dir: Path, audio_dir: Path, codes_dir: Path | None = None):
        self.motion_dir, self.audio_dir, self.codes_dir, self.key, self.arrays = (
            motion_dir,
            audio_dir,
            codes_dir,
            None,
            {},
        )

    def get(self, sequence: str, piece: str) -> dict[str, np.ndarray]:
        if self.key != (sequence, piece):
            with np.load(self.motion_dir / f"{sequence}.npz") as m, np.load(self.audio_dir / f"{piece}.npz") as a:
                self.arrays = {
                    **{f"motion/{k}": m[k] for k in MOTION_FIELDS},
                    **{f"audio/{k}": a[k] for k in AUDIO_FIELDS},
                }
            if self.codes_dir is not None:
                path = self.codes_dir / sequence / "codes.npz"
                if not path.is_file():
                    raise InputError(path, "no EnCodec codes for this clip (run stage encodec)")
                with np.load(path) as c:
                    self.arrays["codes/encodec"] = c["codes"].T  # (code frames, Q): time first, like the rest
                    self.code_rate = float(c["frame_rate"])
            self.key = (sequence, piece)
        return self.arrays


def code_span(start_frame: int, frames: int, *, fps: float, code_rate: float) -> tuple[int, int]:
    """First code frame and code-frame count of motion frames ``[start_frame, start_frame + frames)``."""
    return int(round(start_frame * code_rate / fps)), int(round(frames * code_rate / fps))


def write_shard(
    path: Path,
    windows: list[dict],
    *,
    motion_dir: Path,
    audio_dir: Path,
    attrs: dict,
    chunk_windows: int,
    compression: dict,
    block_chunks: int = 8,
    codes_dir: Path | None = None,
) -> None:
    """Write one shard with the windows (rows of ``windows/w<W>.csv``) in the given order.

    Windows are gathered ``block_chunks`` chunks at a time and written chunk-aligned, so
    memory stays bounded and no compressed chunk is read back.
    """
    n = len(windows)
    W = int(windows[0]["frames"])
    cache = _SequenceCache(motion_dir, audio_dir, codes_dir)
    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        index = np.zeros(n, dtype=INDEX_DTYPE)
        for i, w in enumerate(windows):
            index[i] = (
                w["sequence"],
                w["piece"],
                w["genre"],
                w["dancer"],
                w["split"],
                int(w["start_frame"]),
                int(w["audio_start_frame"]),
            )
        f.create_dataset("index", data=index, track_times=False)
        chunk = min(chunk_windows, n)
        first = cache.get(windows[0]["sequence"], windows[0]["piece"])
        if codes_dir is not None:
            fps = float(attrs["motion_fps"])
            f.attrs["code_frame_rate"] = cache.code_rate
            n_codes = code_span(0, W, fps=fps, code_rate=cache.code_rate)[1]
        dsets = {}
        for name, arr in first.items():
            shape = (n, n_codes if name == "codes/encodec" else W) + arr.shape[1:]
            dsets[name] = f.create_dataset(
                name, shape=shape, dtype=arr.dtype, track_times=False, chunks=(chunk,) + shape[1:], **compression
            )
            dsets[name].attrs["unit"] = UNITS[name]
        block = chunk * block_chunks
        for b0 in range(0, n, block):
            rows = windows[b0 : b0 + block]
            out = {name: np.empty((len(rows),) + d.shape[1:], d.dtype) for name, d in dsets.items()}
            for j, w in enumerate(rows):
                arrays = cache.get(w["sequence"], w["piece"])
                for name, arr in arrays.items():
                    if name == "codes/encodec":
                        c0, nc = code_span(int(w["start_frame"]), W, fps=fps, code_rate=cache.code_rate)
                        short = c0 + nc - arr.shape[0]
                        if short > MAX_SHORT_CODES:
                            raise InputError(
                                codes_dir / w["sequence"] / "codes.npz",
                                f"{arr.shape[0]} code frames, the window needs {c0 + nc}",
                            )
                        if short > 0:  # audio a few ms shorter than the video: repeat the last code frame
                            arr = np.concatenate([arr, np.repeat(arr[-1:], short, axis=0)])
                        out[name][j] = arr[c0 : c0 + nc]
                        continue
                    s = int(w["audio_start_frame"] if name.startswith("audio/") else w["start_frame"])
                    out[name][j] = arr[s : s + W]
            for name, d in dsets.items():
                d[b0 : b0 + len(rows)] = out[name]


def verify_manifest(shard_dir: Path) -> list[str]:
    """Names of shards whose SHA-256 no longer matches ``manifest.json`` (empty when all good)."""
    manifest = json.loads((Path(shard_dir) / "manifest.json").read_text())
    return [n for n, meta in manifest["files"].items() if sha256_file(Path(shard_dir) / n) != meta["sha256"]]
