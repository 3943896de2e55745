"""Motion features from raw keypoints: normalised joints, root track, bones, velocities, kinetic beats.

:func:`extract_motion_features` returns the arrays listed in :mod:`pipelines.stages.motion_features`.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from ..data.skeleton import Skeleton
from ..datasets import motion_fps, skeleton_layout
from ..errors import InputError

log = logging.getLogger(__name__)


def interpolate_nan_frames(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill frames with any NaN by linear interpolation in time (edges hold the nearest value).

    Parameters
    ----------
    kp : np.ndarray, shape (T, J, 3)

    Returns
    -------
    filled : np.ndarray, shape (T, J, 3)
    nan_mask : np.ndarray, shape (T,), uint8
        1 where the input frame had any NaN.
    """
    bad = ~np.isfinite(kp).all(axis=(1, 2))
    if not bad.any():
        return kp.copy(), bad.astype(np.uint8)
    good = np.flatnonzero(~bad)
    t = np.arange(kp.shape[0])
    flat = kp.reshape(kp.shape[0], -1)
    filled = np.stack([np.interp(t, good, flat[good, c]) for c in range(flat.shape[1])], axis=1)
    return filled.reshape(kp.shape), bad.astype(np.uint8)


def kinetic_beats(*, speed: np.ndarray, fps: float, min_separation_s: float, sigma_s: float = 1 / 30) -> np.ndarray:
    """Kinetic beats: local minima of the smoothed mean joint speed.

    Parameters
    ----------
    speed : np.ndarray, shape (T,)
        Mean joint speed (any unit).
    fps : float
        Frames per second.
    min_separation_s : float
        Minimum time between two kinetic beats, s.
    sigma_s : float
        Gaussian smoothing of ``speed``, s.

    Returns
    -------
    np.ndarray, shape (K,)
        Frame indices of kinetic beats.
    """
    smooth = gaussian_filter1d(speed.astype(np.float64), sigma=max(sigma_s * fps, 0.5))
    peaks, _ = find_peaks(-smooth, distance=max(1, int(round(min_separation_s * fps))))
    return peaks.astype(np.int64)


def extract_motion_features(
    kp: np.ndarray,
    *,
    skeleton: Skeleton,
    fps: float,
    max_nan_fraction: float,
    kinetic_min_separation_s: float,
    source: str = "<array>",
) -> dict:
    """Compute the features in the module docstring from raw keypoints (T, J, 3)."""
    if kp.shape[1] != skeleton.num_joints:
        raise InputError(source, f"has {kp.shape[1]} joints, the {skeleton.layout} skeleton has {skeleton.num_joints}")
    finite = np.isfinite(kp).all(axis=(1, 2))
    if not finite.any():
        raise InputError(source, f"all {kp.shape[0]} frames are NaN")
    nan_fraction = 1 - finite.mean()
    if nan_fraction > max_nan_fraction:
        raise InputError(source, f"{100 * nan_fraction:.0f}% of frames are NaN (max {100 * max_nan_fraction:.0f}%)")
    filled, nan_mask = interpolate_nan_frames(kp)
    root = filled[:, list(skeleton.root_joints)].mean(axis=1)
    scale = float(
        np.mean([np.linalg.norm(filled[:, a] - filled[:, b], axis=-1).mean() for a, b in skeleton.scale_edges])
    )
    if not np.isfinite(scale) or scale <= 1e-6:
        raise InputError(source, "degenerate skeleton (zero torso length)")
    joints = (filled - root[:, None]) / scale
    velocity = np.gradient(filled / scale, axis=0) * fps
    speed = np.linalg.norm(velocity, axis=-1).mean(axis=1)
    beats = np.zeros(kp.shape[0], np.uint8)
    beats[kinetic_beats(speed=speed, fps=fps, min_separation_s=kinetic_min_separation_s)] = 1
    return {
        "joints": joints.astype(np.float32),
        "root": ((root - root[0]) / scale).astype(np.float32),
        "bones": skeleton.bones(joints).astype(np.float32),
        "velocity": velocity.astype(np.float32),
        "speed": speed.astype(np.float32),
        "kinetic_beats": beats,
        "nan_mask": nan_mask,
        "scale_cm": np.float64(scale),
        "fps": np.float64(fps),
    }


def motion_features_for(kp: np.ndarray, params: dict, *, source: str) -> dict:
    """:func:`extract_motion_features` with the configured dataset's skeleton, frame rate and ``motion`` params."""
    return extract_motion_features(
        kp,
        skeleton=Skeleton(skeleton_layout(params)),
        fps=motion_fps(params),
        max_nan_fraction=params["motion"]["max_nan_fraction"],
        kinetic_min_separation_s=params["motion"]["kinetic_min_separation_s"],
        source=source,
    )


def contact_pulse(
    *,
    joints: np.ndarray,
    root: np.ndarray,
    velocity: np.ndarray,
    kinetic_beats: np.ndarray,
    skeleton: Skeleton,
    height_scale: float = 0.05,
    speed_scale: float = 0.5,
) -> np.ndarray:
    """Foot landings per frame (MotionBeat's contact pulse), shape (T,), in [0, 1].

    A foot is in contact when its lowest joint is near its own floor (the 5th percentile of
    its height over the sequence) and still: ``exp(-h / height_scale) · exp(-v / speed_scale)``
    with ``h`` in torso lengths and ``v`` the foot joints' mean speed in torso lengths per second.
    The pulse is the rise of contact (the landing), summed over both feet, scaled so its
    99th percentile is 1 and clipped to [0, 1].

    Skeletons without feet (:attr:`Skeleton.contact_joints` empty) fall back to kinetic-beat
    strength: the 0/1 ``kinetic_beats`` smoothed by a Gaussian of σ = 2 frames, peak 1.

    Parameters
    ----------
    joints : np.ndarray, shape (T, J, 3)
        Root-centred joints in torso lengths (the motion features' ``joints``).
    root : np.ndarray, shape (T, 3)
        Root track in torso lengths (``root``).
    velocity : np.ndarray, shape (T, J, 3)
        Joint velocities in torso lengths per second (``velocity``).
    kinetic_beats : np.ndarray, shape (T,)
        0/1 kinetic beats (the fallback).
    skeleton : Skeleton
    height_scale, speed_scale : float
        Torso lengths and torso lengths per second at which contact has fallen to 1/e.
    """
    feet = skeleton.contact_joints
    if not feet:
        pulse = gaussian_filter1d(np.asarray(kinetic_beats, dtype=np.float64), sigma=2.0)
        return (pulse / max(pulse.max(), 1e-9)).astype(np.float32)
    height = joints[..., skeleton.up_axis] + root[:, None, skeleton.up_axis]
    pulse = np.zeros(joints.shape[0])
    for foot in feet:
        h = height[:, list(foot)].min(axis=1)
        h = np.clip(h - np.percentile(h, 5), 0, None)
        v = np.linalg.norm(velocity[:, list(foot)], axis=-1).mean(axis=1)
        contact = np.exp(-h / height_scale) * np.exp(-v / speed_scale)
        pulse += np.clip(np.diff(contact, prepend=contact[0]), 0, None)
    scale = np.percentile(pulse, 99)
    return np.clip(pulse / max(scale, 1e-9), 0, 1).astype(np.float32)
