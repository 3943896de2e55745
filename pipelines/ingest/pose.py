"""MediaPipe Pose on a video, frame by frame with nothing dropped, the video's own sanity figures
(frozen and black frames, resolution) and the pose quality flags.

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


class FrameStats:
    """Per-frame figures of a video, fed frame by frame: ``frame_diff`` (mean absolute change of the
    grey level, 0–255, from the previous frame; NaN for the first) and ``brightness`` (mean grey
    level), both (T,) float32, and ``frame_size`` (width, height) in pixels."""

    def __init__(self):
        self.prev, self.diff, self.bright, self.size = None, [], [], (0, 0)

    def add(self, frame: np.ndarray) -> None:
        grey = frame.astype(np.float32).mean(axis=2)
        self.diff.append(np.nan if self.prev is None else float(np.abs(grey - self.prev).mean()))
        self.bright.append(float(grey.mean()))
        self.prev, self.size = grey, (frame.shape[1], frame.shape[0])

    def arrays(self) -> dict:
        return {
            "frame_diff": np.asarray(self.diff, dtype=np.float32),
            "brightness": np.asarray(self.bright, dtype=np.float32),
            "frame_size": np.asarray(self.size, dtype=np.int64),
        }


def estimate_pose(video: Path, *, model_complexity: int) -> dict:
    """MediaPipe world landmarks for every frame of ``video``, and its :class:`FrameStats` (see the
    module docstring)."""
    import mediapipe as mp

    frames = read_frames(video)
    fps = next(frames)
    stats = FrameStats()
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
            stats.add(frame)
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
        **stats.arrays(),
    }


def moving_frames(frame_diff: np.ndarray, *, frozen_diff: float) -> np.ndarray:
    """(T,) bool: frames that differ from the previous one by at least ``frozen_diff`` grey levels
    (mean absolute change), the first frame counted as moving."""
    d = np.asarray(frame_diff, dtype=np.float64)
    return ~(d < frozen_diff)  # NaN (the first frame) counts as moving


def pose_quality(pose: dict, cfg: dict) -> dict:
    """Quality figures and flags of one clip from its ``pose.npz`` arrays and the ``pose`` params.

    Pose: detection rate and landmark jitter (median over detected frame triples of the mean
    second difference, m / frame²). Video: the share of frozen frames (changing by less than
    ``frozen_diff`` grey levels from the previous one: a repeated or stuck picture, whatever the
    pose model makes of it), the share of black frames (mean grey level below ``black_level``)
    and the frame size. ``flags`` lists every threshold the clip fails; ``glitchy`` is True when
    there is any. A ``pose.npz`` written before the video figures existed gets none of them.
    """
    world, detected = pose["world"], pose["detected"]
    rate = float(detected.mean()) if detected.size else 0.0
    ok = detected.astype(bool)
    triples = ok[2:] & ok[1:-1] & ok[:-2]
    if triples.any():
        second = world[2:] - 2 * world[1:-1] + world[:-2]
        jitter = float(np.median(np.linalg.norm(second[triples], axis=-1).mean(axis=1)))
    else:
        jitter = float("nan")
    out = {"frames": int(detected.size), "detection_rate": rate, "jitter_m": jitter}
    flags = []
    if rate < cfg["min_detection_rate"]:
        flags.append(f"detection rate {rate:.2f} < {cfg['min_detection_rate']}")
    if not np.isfinite(jitter) or jitter > cfg["max_jitter_m"]:
        flags.append(f"jitter {jitter:.3f} m > {cfg['max_jitter_m']}")
    if "frame_diff" in pose:
        moving = moving_frames(pose["frame_diff"], frozen_diff=cfg["frozen_diff"])
        frozen = float(1 - moving.mean()) if moving.size else 0.0
        black = float(np.mean(pose["brightness"] < cfg["black_level"])) if pose["brightness"].size else 0.0
        width, height = (int(x) for x in pose["frame_size"])
        out.update(frozen_share=frozen, black_share=black, frame_size=[width, height])
        if frozen > cfg["max_frozen_share"]:
            flags.append(f"{100 * frozen:.0f} % of frames frozen > {100 * cfg['max_frozen_share']:.0f} %")
        if black > cfg["max_black_share"]:
            flags.append(f"{100 * black:.0f} % of frames black > {100 * cfg['max_black_share']:.0f} %")
        if min(width, height) < cfg["min_resolution"]:
            flags.append(f"{width}x{height} pixels, shorter side < {cfg['min_resolution']}")
    return {**out, "flags": flags, "glitchy": bool(flags)}


def compare_to_reference(image: np.ndarray, reference: np.ndarray, *, frames: np.ndarray | None = None) -> dict:
    """Agreement of image landmarks 1–32 with a reference (T, 32, 3) from another MediaPipe run
    (normalised image coordinates, landmark 0 dropped), over the ``frames`` given (bool (T,), e.g.
    :func:`moving_frames`: on a frozen picture two trackers measure nothing but their own state).

    Returns the mean and median per-landmark distance in x, y (fractions of the frame) over
    frames both have, the same in z, and the Pearson correlation of all coordinates.
    """
    n = min(len(image), len(reference))
    ours, ref = image[:n, 1:], reference[:n]
    both = np.isfinite(ours).all(axis=(1, 2)) & np.isfinite(ref).all(axis=(1, 2))
    if frames is not None:
        both &= np.asarray(frames[:n], dtype=bool)
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
