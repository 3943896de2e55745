"""HDF5 shards: the field layout and the chunk-aligned writer (codecs: :mod:`pipelines.data.shard_codec`).

The file layout is described in :mod:`pipelines.stages.shards`, which writes one shard per
window size and split; :mod:`pipelines.data.torch_data` reads them.
"""

from __future__ import annotations

import csv
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


def read_window_index(path: Path, *, split: str) -> np.ndarray:
    """The rows of ``windows/w<W>.csv`` in ``split`` as an :data:`INDEX_DTYPE` array (the file
    is streamed: about 130 bytes a window in memory, not a dict each)."""
    texts = [k for k in INDEX_DTYPE.names if INDEX_DTYPE[k].kind == "S"]
    with open(path, newline="") as fh:
        rows = (
            (*(r[k] for k in texts), int(r["start_frame"]), int(r["audio_start_frame"]))
            for r in csv.DictReader(fh)
            if r["split"] == split
        )
        return np.fromiter(rows, dtype=INDEX_DTYPE)


def write_shard(
    path: Path,
    index: np.ndarray,
    *,
    window_frames: int,
    motion_dir: Path,
    audio_dir: Path,
    attrs: dict,
    chunk_windows: int,
    compression: dict,
    block_chunks: int = 8,
    codes_dir: Path | None = None,
) -> None:
    """Write one shard with the windows of ``index`` (:func:`read_window_index`) in that order.

    Windows are gathered ``block_chunks`` chunks at a time into buffers allocated once and
    written chunk-aligned, so memory does not grow with the number of windows and no compressed
    chunk is read back.
    """
    n, W = len(index), window_frames
    cache = _SequenceCache(motion_dir, audio_dir, codes_dir)
    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.create_dataset("index", data=index, track_times=False)
        chunk = min(chunk_windows, n)
        first = cache.get(index["sequence"][0].decode(), index["piece"][0].decode())
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
        block = min(n, chunk * block_chunks)
        buffers = {name: np.empty((block,) + d.shape[1:], d.dtype) for name, d in dsets.items()}  # reused
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            out = {name: buf[: b1 - b0] for name, buf in buffers.items()}
            for j, i in enumerate(range(b0, b1)):
                sequence = index["sequence"][i].decode()
                arrays = cache.get(sequence, index["piece"][i].decode())
                start, audio_start = int(index["start_frame"][i]), int(index["audio_start_frame"][i])
                for name, arr in arrays.items():
                    if name == "codes/encodec":
                        c0, nc = code_span(start, W, fps=fps, code_rate=cache.code_rate)
                        short = c0 + nc - arr.shape[0]
                        if short > MAX_SHORT_CODES:
                            raise InputError(
                                codes_dir / sequence / "codes.npz",
                                f"{arr.shape[0]} code frames, the window needs {c0 + nc}",
                            )
                        if short > 0:  # audio a few ms shorter than the video: repeat the last code frame
                            arr = np.concatenate([arr, np.repeat(arr[-1:], short, axis=0)])
                        out[name][j] = arr[c0 : c0 + nc]
                        continue
                    s = audio_start if name.startswith("audio/") else start
                    out[name][j] = arr[s : s + W]
            for name, d in dsets.items():
                d[b0:b1] = out[name]


def verify_manifest(shard_dir: Path) -> list[str]:
    """Names of shards whose SHA-256 no longer matches ``manifest.json`` (empty when all good)."""
    manifest = json.loads((Path(shard_dir) / "manifest.json").read_text())
    return [n for n, meta in manifest["files"].items() if sha256_file(Path(shard_dir) / n) != meta["sha256"]]
