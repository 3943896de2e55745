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

import numpy as np

from ..cli import run_stage
from ..config import Paths, motion_fps, window_specs
from ..errors import InputError, Skips
from ..features.windows import WINDOW_FIELDS, aligned_length, window_starts
from ..files import atomic_dir, read_csv, write_csv

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    fps = motion_fps(params)
    rows = read_csv(paths.index / "sequences.csv")
    skips = Skips(params["on_error"])
    max_mismatch = int(round(params["alignment"]["max_length_mismatch_s"] * fps))
    seq_rows, usable = [], []
    for r in rows:
        m_path = paths.motion_features / f"{r['sequence']}.npz"
        a_path = paths.audio_features / f"{r['piece']}.npz"
        if not m_path.exists() or not a_path.exists():
            continue  # dropped by a feature stage under on_error: skip (listed there)
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
            out = []
            for r, offset, length in usable:
                for start in window_starts(length=length, frames=frames, stride=stride):
                    out.append(
                        {
                            "window": len(out),
                            **{k: r[k] for k in ("sequence", "piece", "genre", "dancer", "split")},
                            "start_frame": int(start),
                            "audio_start_frame": int(start + offset),
                            "frames": frames,
                        }
                    )
            write_csv(tmp / f"w{frames}.csv", out, fieldnames=WINDOW_FIELDS)
            log.info("w%d (stride %d): %d windows", frames, stride, len(out))
        write_csv(tmp / "sequences.csv", seq_rows, fieldnames=list(seq_rows[0]) if seq_rows else ["sequence"])
        skips.write(tmp / "skipped.csv")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
