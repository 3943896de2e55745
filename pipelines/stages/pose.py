"""Stage ``pose``: MediaPipe Pose on every clip, with nothing dropped.

``python -m pipelines.stages.pose --params params.yaml``

Runs MediaPipe Pose (0.10.14, ``model_complexity`` from params, the model bundled in the
wheel, fully offline) on ``<youtube.target>/clip_*/video.mp4`` and writes beside each video
``pose.npz``:

=================  ==========  ==================================================
``world``          (T, 33, 3)  world landmarks, metres, hip-centred; NaN where none found
``image``          (T, 33, 3)  normalised image landmarks: x, y in [0, 1] of the frame, z depth
                               on the same scale as x (MediaPipe's ``pose_landmarks``); NaN too
``visibility``     (T, 33)     landmark visibility in [0, 1]; NaN where none found
``detected``       (T,)        1 where a pose was found (frames are never dropped)
``fps``            ()          video frame rate
=================  ==========  ==================================================

and ``pose_quality.json``: detection rate, landmark jitter (median over detected frame
triples of the mean second difference, m / frame²) and ``glitchy`` when the detection rate is
below ``pose.min_detection_rate`` or the jitter above ``pose.max_jitter_m``. Clips already
done with the same ``model_complexity`` are not run again (their quality figures are
recomputed with the current thresholds), so a killed run resumes where it stopped. MediaPipe needs numpy < 2 and
protobuf < 5, so this stage runs in its own environment: started from the main environment it
builds ``.venv-pose`` (see the Makefile) and re-runs itself there.

``--part I/N`` (the DAG's ``<stage>_part<I>`` jobs when ``cluster.clip_jobs`` N > 1) does only
every N-th clip from the I-th and writes ``<target>/pose_summary.part<I>of<N>.json``; stage
``gather_clips`` joins the parts into the summary one job would have written.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..cli import ensure_stage_env, run_stage
from ..files import atomic_file, write_json
from ..ingest.clips import run_per_clip, summary_file
from ..ingest.pose import estimate_pose, pose_quality

log = logging.getLogger(__name__)


def write_quality(clip: Path, cfg: dict) -> dict:
    """Quality figures of a clip's ``pose.npz`` under the current thresholds, written to ``pose_quality.json``."""
    with np.load(clip / "pose.npz") as z:
        q = pose_quality(
            z["world"], z["detected"], min_detection_rate=cfg["min_detection_rate"], max_jitter_m=cfg["max_jitter_m"]
        )
    with atomic_file(clip / "pose_quality.json", "w") as fh:
        json.dump(q, fh, indent=2)
    return q


def process_clips(clips_dir: Path, cfg: dict, *, part: tuple[int, int] | None = None) -> list[dict]:
    """Pose every clip not yet done with this ``model_complexity``; the quality figures are
    recomputed from ``pose.npz`` each run (changing only the thresholds re-runs no MediaPipe)."""

    def pose_one(clip: Path, _model) -> None:
        res = estimate_pose(clip / "video.mp4", model_complexity=cfg["model_complexity"])
        with atomic_file(clip / "pose.npz", "wb") as fh:
            np.savez(fh, **res)
        q = write_quality(clip, cfg)
        log.info(
            "%s: %d frames, detection %.0f%%, jitter %.4f m%s",
            clip.name,
            q["frames"],
            100 * q["detection_rate"],
            q["jitter_m"],
            " GLITCHY" if q["glitchy"] else "",
        )

    rows = run_per_clip(
        clips_dir,
        stage="pose",
        input_name="video.mp4",
        outputs=["pose.npz"],
        stamp={"model_complexity": cfg["model_complexity"]},
        process=pose_one,
        part=part,
    )
    return [
        {
            "clip": r["clip"],
            **write_quality(Path(clips_dir) / r["clip"], cfg),
            "reused": r["reused"],
            "sha256": r["sha256"],
        }
        for r in rows
    ]


def main(params: dict, *, part: tuple[int, int] | None = None) -> None:
    ensure_stage_env(".venv-pose", module="pipelines.stages.pose", probe="mediapipe")
    target = Path(params["youtube"]["target"])
    summary = process_clips(target, params["pose"], part=part)
    write_json(summary_file(target, "pose_summary", part), summary)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
