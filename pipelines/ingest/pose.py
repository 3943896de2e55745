"""MediaPipe Pose on a video, frame by frame with nothing dropped, and the pose quality figures.

The arrays and flags are described in :mod:`pipelines.stages.pose`, which runs this on every clip.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

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
    with mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=model_complexity,
        smooth_landmarks=True,
        enable_segmentation=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    ) as pose:
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
    return {
        "world": world_a,
        "image": np.asarray(image, dtype=np.float32).reshape(-1, N_LANDMARKS, 3),
        "visibility": np.asarray(vis, dtype=np.float32).reshape(-1, N_LANDMARKS),
        "detected": np.isfinite(world_a).all(axis=(1, 2)).astype(np.uint8),
        "fps": np.float64(fps),
    }


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
    return {
        "frames_compared": int(both.sum()),
        "mean_xy_distance": float(dxy.mean()),
        "median_xy_distance": float(np.median(dxy)),
        "mean_z_difference": float(dz.mean()),
        "pearson_r_xy": float(np.corrcoef(ours[both][..., :2].ravel(), ref[both][..., :2].ravel())[0, 1]),
        "pearson_r_z": float(np.corrcoef(ours[both][..., 2].ravel(), ref[both][..., 2].ravel())[0, 1]),
    }
