"""Stage ``windows``: aligned (motion, audio) windows of each configured length.

``python -m pipelines.stages.windows --params params.yaml``

For every sequence with both features, motion frame ``t`` pairs with audio frame
``t + audio_offset_frames`` (``audio_offset_s * motion_fps``; 0 for AIST++). Windows of
``frames`` frames start every ``stride`` frames while they fit in both streams.

Outputs ``windows/w<frames>.csv`` (one row per window: ``window``, ``sequence``, ``piece``,
``genre``, ``dancer``, ``split``, ``start_frame``, ``audio_start_frame``, ``frames``),
``windows/sequences.csv`` (per sequence: motion and audio frames, usable frames) and
``windows/skipped.csv``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from ..cli import run_stage
from ..config import Paths
from ..data.items import with_features
from ..datasets import motion_fps, window_specs
from ..errors import InputError, Skips
from ..features.windows import WINDOW_FIELDS, aligned_length, window_starts
from ..files import atomic_dir, read_csv, write_csv

log = logging.getLogger(__name__)


def _window_rows(usable: list[tuple[dict, int, int]], frames: int, stride: int) -> Iterator[dict]:
    """The rows of ``w<frames>.csv``, one at a time (the file is written as they come)."""
    n = 0
    for r, offset, length in usable:
        for start in window_starts(length=length, frames=frames, stride=stride):
            yield {
                "window": n,
                **{k: r[k] for k in ("sequence", "piece", "genre", "dancer", "split")},
                "start_frame": int(start),
                "audio_start_frame": int(start + offset),
                "frames": frames,
            }
            n += 1


def main(params: dict) -> None:
    paths = Paths(params)
    fps = motion_fps(params)
    rows = read_csv(paths.index / "sequences.csv")
    skips = Skips(params["on_error"])
    max_mismatch = int(round(params["alignment"]["max_length_mismatch_s"] * fps))
    seq_rows, usable = [], []
    for r in with_features(paths, rows):  # the feature stages' skips are listed there
        m_path = paths.motion_features / f"{r['sequence']}.npz"
        a_path = paths.audio_features / f"{r['piece']}.npz"
        with np.load(m_path) as m, np.load(a_path) as a:
            motion_frames, audio_frames = int(m["speed"].shape[0]), int(a["onset_env"].shape[0])
        offset = int(round(float(r["audio_offset_s"]) * fps))
        try:
            length = aligned_length(
                motion_frames=motion_frames,
                audio_frames=audio_frames,
                audio_offset_frames=offset,
                max_mismatch_frames=max_mismatch,
                audio_path=r["audio_path"],
            )
        except InputError as err:
            skips.handle(r["sequence"], err)
            continue
        seq_rows.append(
            {
                **{k: r[k] for k in ("sequence", "piece", "genre", "dancer", "split")},
                "motion_frames": motion_frames,
                "audio_frames": audio_frames,
                "audio_offset_frames": offset,
                "usable_frames": length,
            }
        )
        usable.append((r, offset, length))
    with atomic_dir(paths.windows) as tmp:
        for spec in window_specs(params):
            frames, stride = spec["frames"], spec["stride"]
            write_csv(tmp / f"w{frames}.csv", _window_rows(usable, frames, stride), fieldnames=WINDOW_FIELDS)
            n = sum(len(window_starts(length=length, frames=frames, stride=stride)) for _, _, length in usable)
            log.info("w%d (stride %d): %d windows", frames, stride, n)
        write_csv(tmp / "sequences.csv", seq_rows, fieldnames=list(seq_rows[0]) if seq_rows else ["sequence"])
        skips.write(tmp / "skipped.csv")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
