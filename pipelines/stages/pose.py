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
``frame_diff``     (T,)        mean absolute grey-level change (0–255) from the previous frame; NaN first
``brightness``     (T,)        mean grey level (0–255)
``frame_size``     (2,)        width, height in pixels
=================  ==========  ==================================================

and ``pose_quality.json`` (:func:`pipelines.ingest.pose.pose_quality`): detection rate, landmark
jitter (median over detected frame triples of the mean second difference, m / frame²), the
shares of frozen frames (changing by less than ``pose.frozen_diff`` grey levels: a stuck or
repeated picture, which MediaPipe happily tracks) and of black frames (below
``pose.black_level``), the frame size, the ``flags`` the clip fails (detection rate below
``pose.min_detection_rate``, jitter above ``pose.max_jitter_m``, frozen share above
``pose.max_frozen_share``, black share above ``pose.max_black_share``, shorter side below
``pose.min_resolution`` pixels) and ``glitchy`` when there is any (``datasets.youtube.drop_glitchy``
leaves such clips out). ``workers`` clips are posed at a time, one MediaPipe per process. Clips
already done with the same ``model_complexity`` are not run again (their quality figures are
recomputed with the current thresholds), so a killed run resumes where it stopped. MediaPipe needs numpy < 2 and
protobuf < 5, so this stage runs in its own environment: started from the main environment it
builds ``.venv-pose`` (see the Makefile) and re-runs itself there.

``--part I/N`` (the DAG's ``<stage>_part<I>`` jobs when ``cluster.fan_out`` N > 1) does only
every N-th clip from the I-th and writes ``<target>/pose_summary.part<I>of<N>.json``; stage
``gather_parts`` joins the parts into the summary one job would have written.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import numpy as np

from ..cli import ensure_stage_env, n_workers, run_stage
from ..files import atomic_file, write_json
from ..ingest.clips import run_per_clip, summary_file
from ..ingest.pose import estimate_pose, pose_quality

log = logging.getLogger(__name__)


#: Version of what ``pose.npz`` holds: clips posed by an older version are posed again (2: the
#: video's frame figures added).
POSE_FILE_VERSION = 2


def write_quality(clip: Path, cfg: dict) -> dict:
    """Quality figures of a clip's ``pose.npz`` under the current thresholds, written to ``pose_quality.json``."""
    with np.load(clip / "pose.npz") as z:
        q = pose_quality(dict(z), cfg)
    with atomic_file(clip / "pose_quality.json", "w") as fh:
        json.dump(q, fh, indent=2)
    return q


def pose_clip(clip: Path, _model, *, cfg: dict) -> None:
    """MediaPipe on one clip's video, then its quality figures (a top-level function: worker processes run it)."""
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
        f" GLITCHY ({'; '.join(q['flags'])})" if q["glitchy"] else "",
    )


def process_clips(clips_dir: Path, cfg: dict, *, part: tuple[int, int] | None = None, workers: int = 1) -> list[dict]:
    """Pose every clip not yet done with this ``model_complexity`` (``workers`` clips at a time, one
    MediaPipe per process); the quality figures are recomputed from ``pose.npz`` each run
    (changing only the thresholds re-runs no MediaPipe)."""
    rows = run_per_clip(
        clips_dir,
        stage="pose",
        input_name="video.mp4",
        outputs=["pose.npz"],
        stamp={"model_complexity": cfg["model_complexity"], "version": POSE_FILE_VERSION},
        process=functools.partial(pose_clip, cfg=cfg),
        part=part,
        workers=workers,
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
    summary = process_clips(target, params["pose"], part=part, workers=n_workers(params))
    write_json(summary_file(target, "pose_summary", part), summary)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
