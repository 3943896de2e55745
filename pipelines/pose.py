"""Stage ``pose``: MediaPipe Pose on every clip, with nothing dropped.

``python -m pipelines.pose --params params.yaml``

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
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .common import atomic_file, clip_done, ensure_stage_env, mark_clip_done, run_stage, sha256_file

log = logging.getLogger(__name__)
N_LANDMARKS = 33


def read_frames(video: Path):
    """Yield RGB frames (H, W, 3) uint8 and, first, the frame rate."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video), pix_fmt="rgb24")
    meta = reader.__next__()
    w, h = meta["size"]
    yield float(meta["fps"])
    for raw in reader:
        yield np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)


def estimate_pose(video: Path, *, model_complexity: int) -> dict:
    """MediaPipe world landmarks for every frame of ``video`` (see the module docstring)."""
    import mediapipe as mp

    frames = read_frames(video)
    fps = next(frames)
    world, image, vis = [], [], []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=model_complexity,
                                smooth_landmarks=True, enable_segmentation=False,
                                min_detection_confidence=0.5, min_tracking_confidence=0.5) as pose:
        for frame in frames:
            res = pose.process(frame)
            if res.pose_world_landmarks is None or res.pose_landmarks is None:
                world.append(np.full((N_LANDMARKS, 3), np.nan))
                image.append(np.full((N_LANDMARKS, 3), np.nan))
                vis.append(np.full(N_LANDMARKS, np.nan))
            else:
                world.append(np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark]))
                image.append(np.array([[p.x, p.y, p.z] for p in res.pose_landmarks.landmark]))
                vis.append(np.array([p.visibility for p in res.pose_landmarks.landmark]))
    world_a = np.asarray(world, dtype=np.float32).reshape(-1, N_LANDMARKS, 3)
    return {"world": world_a, "image": np.asarray(image, dtype=np.float32).reshape(-1, N_LANDMARKS, 3),
            "visibility": np.asarray(vis, dtype=np.float32).reshape(-1, N_LANDMARKS),
            "detected": np.isfinite(world_a).all(axis=(1, 2)).astype(np.uint8), "fps": np.float64(fps)}


def pose_quality(world: np.ndarray, detected: np.ndarray, *, min_detection_rate: float, max_jitter_m: float) -> dict:
    """Detection rate, jitter and the glitchy flag of one clip."""
    rate = float(detected.mean()) if detected.size else 0.0
    ok = detected.astype(bool)
    triples = ok[2:] & ok[1:-1] & ok[:-2]
    if triples.any():
        second = world[2:] - 2 * world[1:-1] + world[:-2]
        jitter = float(np.median(np.linalg.norm(second[triples], axis=-1).mean(axis=1)))
    else:
        jitter = float("nan")
    glitchy = bool(rate < min_detection_rate or not np.isfinite(jitter) or jitter > max_jitter_m)
    return {"frames": int(detected.size), "detection_rate": rate, "jitter_m": jitter, "glitchy": glitchy}


def compare_to_reference(image: np.ndarray, reference: np.ndarray) -> dict:
    """Agreement of image landmarks 1–32 with a reference (T, 32, 3) from another MediaPipe run
    (normalised image coordinates, landmark 0 dropped).

    Returns the mean and median per-landmark distance in x, y (fractions of the frame) over
    frames both have, the same in z, and the Pearson correlation of all coordinates.
    """
    n = min(len(image), len(reference))
    ours, ref = image[:n, 1:], reference[:n]
    both = np.isfinite(ours).all(axis=(1, 2)) & np.isfinite(ref).all(axis=(1, 2))
    dxy = np.linalg.norm(ours[both][..., :2] - ref[both][..., :2], axis=-1)
    dz = np.abs(ours[both][..., 2] - ref[both][..., 2])
    return {"frames_compared": int(both.sum()), "mean_xy_distance": float(dxy.mean()),
            "median_xy_distance": float(np.median(dxy)), "mean_z_difference": float(dz.mean()),
            "pearson_r_xy": float(np.corrcoef(ours[both][..., :2].ravel(), ref[both][..., :2].ravel())[0, 1]),
            "pearson_r_z": float(np.corrcoef(ours[both][..., 2].ravel(), ref[both][..., 2].ravel())[0, 1])}


def process_clips(clips_dir: Path, cfg: dict) -> list[dict]:
    """Pose every clip not yet done with this ``model_complexity``; the quality figures are
    recomputed from ``pose.npz`` each run (changing only the thresholds re-runs no MediaPipe)."""
    summary = []
    model_cfg = {"model_complexity": cfg["model_complexity"]}
    for video in sorted(Path(clips_dir).glob("clip_*/video.mp4")):
        clip = video.parent
        out, qfile = clip / "pose.npz", clip / "pose_quality.json"
        reused = clip_done(clip, "pose", model_cfg, ["pose.npz"], inputs=["video.mp4"])
        if reused:
            with np.load(out) as z:
                world, detected = z["world"], z["detected"]
        else:
            res = estimate_pose(video, model_complexity=cfg["model_complexity"])
            with atomic_file(out, "wb") as fh:
                np.savez(fh, **res)
            mark_clip_done(clip, "pose", model_cfg)
            world, detected = res["world"], res["detected"]
        q = pose_quality(world, detected, min_detection_rate=cfg["min_detection_rate"], max_jitter_m=cfg["max_jitter_m"])
        with atomic_file(qfile, "w") as fh:
            json.dump(q, fh, indent=2)
        # the checksum makes the summary change whenever a clip's pose does (DVC hashes this file)
        summary.append({"clip": clip.name, **q, "reused": reused, "sha256": sha256_file(out)})
        if not reused:
            log.info("%s: %d frames, detection %.0f%%, jitter %.4f m%s", clip.name, q["frames"],
                     100 * q["detection_rate"], q["jitter_m"], " GLITCHY" if q["glitchy"] else "")
    return summary


def main(params: dict) -> None:
    ensure_stage_env(".venv-pose", module="pipelines.pose", probe="mediapipe")
    summary = process_clips(Path(params["youtube"]["target"]), params["pose"])
    with atomic_file(Path(params["youtube"]["target"]) / "pose_summary.json", "w") as fh:
        json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
