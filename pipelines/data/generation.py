"""Dance-to-music training examples: pose frames (with their detection mask) and the audio tokens
of the same seconds (issue #12; the model is :mod:`pipelines.models.dance2music`).

A clip or sequence gives windows of ``seconds`` (default 5 s) every ``stride_seconds``. Pose
frames stay at the clip's own rate; the tokens of a window start at the code frame of its first
pose frame by the rule the shards use (:func:`pipelines.features.shards.code_span`), so pose and
audio start together. Frames without a detected pose are kept, marked False in the mask (never
dropped: dropping them would shift the pose against the audio).
"""

from __future__ import annotations

import numpy as np

from ..features.shards import MAX_SHORT_CODES, code_span


def pose_inputs(joints: np.ndarray, *, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame model inputs and detection mask of a pose sequence.

    Parameters
    ----------
    joints : np.ndarray, shape (T, J, 3)
        Joint positions (any unit); NaN where no pose was found.
    fps : float
        Frames per second.

    Returns
    -------
    features : np.ndarray, shape (T, J * 6), float32
        Joints relative to the frame's joint centroid, then velocities (unit / s; 0 where the
        frame or its predecessor has no pose). 0 on frames without a pose.
    mask : np.ndarray, shape (T,), bool
        True where every joint of the frame is finite.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[2] != 3:
        raise ValueError(f"joints must be (frames, joints, 3), got {joints.shape}")
    T, J, _ = joints.shape
    mask = np.isfinite(joints).all(axis=(1, 2))
    centred = np.zeros_like(joints)
    centred[mask] = joints[mask] - joints[mask].mean(axis=1, keepdims=True)
    velocity = np.zeros_like(joints)
    both = mask[1:] & mask[:-1]
    velocity[1:][both] = (joints[1:][both] - joints[:-1][both]) * fps
    features = np.concatenate([centred.reshape(T, J * 3), velocity.reshape(T, J * 3)], axis=1)
    return features.astype(np.float32), mask


def generation_windows(
    *, pose_frames: int, pose_fps: float, code_frames: int, code_rate: float, seconds: float, stride_seconds: float
) -> list[dict]:
    """Windows of one clip: ``pose_start``/``pose_frames`` and ``code_start``/``code_frames`` each.

    A window is kept when its pose frames fit and its codes fit, up to ``MAX_SHORT_CODES`` code
    frames short (audio a few ms shorter than the video; :func:`take_codes` repeats the last frame).
    """
    n_pose = int(round(seconds * pose_fps))
    stride = max(1, int(round(stride_seconds * pose_fps)))
    out = []
    for start in range(0, pose_frames - n_pose + 1, stride):
        c0, nc = code_span(start, n_pose, fps=pose_fps, code_rate=code_rate)
        if c0 + nc - code_frames > MAX_SHORT_CODES:
            break
        out.append({"pose_start": start, "pose_frames": n_pose, "code_start": c0, "code_frames": nc})
    return out


def take_codes(codes: np.ndarray, window: dict) -> np.ndarray:
    """The (K, code_frames) codes of a window, the last frame repeated where the clip falls short."""
    c0, nc = window["code_start"], window["code_frames"]
    part = codes[:, c0 : c0 + nc]
    short = nc - part.shape[1]
    if short > MAX_SHORT_CODES:
        raise ValueError(f"codes end {short} frames before the window (at most {MAX_SHORT_CODES})")
    if short > 0:
        part = np.concatenate([part, np.repeat(part[:, -1:], short, axis=1)], axis=1)
    return part
