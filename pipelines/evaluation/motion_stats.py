"""How much a dancer moves: four per-sequence statistics in torso lengths, comparable across skeletons.

Every statistic is measured on positions divided by the sequence's torso length (the mean
length of the skeleton's :attr:`~pipelines.data.skeleton.Skeleton.scale_edges` over all
frames), so sequences in cm, m or body units, and skeletons of different sizes and joint
sets (``coco17``, ``mtd23``, ``mediapipe33``), give comparable numbers. Frames with any NaN
are filled by linear interpolation in time (edges hold the nearest finite frame) first.

=================  ==========================================================================
``joint_speed``    mean over frames and joints of the joint speed, torso lengths / s
``wrist_speed``    the same over the two wrists (``left_wrist``, ``right_wrist``) only
``foot_lift``      per foot, the 95th percentile over frames of the foot's height above its own
                   5th percentile (a foot's height: its lowest contact joint along the up axis),
                   averaged over the feet, torso lengths
``root_bounce``    95th minus 5th percentile of the root height (mean of the root joints along
                   the up axis), torso lengths
=================  ==========================================================================

Speeds are ``|np.gradient(positions) * fps|``. Percentiles, not minimum and maximum, keep a
few bad frames from setting a value. The data report sets the configured dataset's numbers
beside those of the real AIST++ sequences; the synthetic dataset is tuned to fall in their range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.skeleton import Skeleton
from ..features.motion import interpolate_nan_frames

#: The statistics :func:`motion_stats` returns, in order, with a label and unit for tables.
STATS: dict[str, str] = {
    "joint_speed": "mean joint speed (torso lengths/s)",
    "wrist_speed": "mean wrist speed (torso lengths/s)",
    "foot_lift": "foot lift, p95 height above own p5 (torso lengths)",
    "root_bounce": "root bounce, p95 − p5 root height (torso lengths)",
}


def fill_nan_frames(*, keypoints: np.ndarray) -> np.ndarray:
    """Frames with any NaN filled by linear interpolation in time.

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit; whole or partial frames may be NaN.

    Returns
    -------
    np.ndarray, shape (T, J, 3), float64
        A copy with every frame finite; frames before the first (after the last) finite frame
        hold its value.

    Raises
    ------
    ValueError
        When no frame is finite.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if not np.isfinite(kp).all(axis=(1, 2)).any():
        raise ValueError(f"all {kp.shape[0]} frames have NaN")
    return interpolate_nan_frames(kp)[0]


def torso_length(*, keypoints: np.ndarray, skeleton: Skeleton) -> float:
    """Mean length of the skeleton's scale edges over all finite frames.

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit, may hold NaN.
    skeleton : Skeleton
        Its ``scale_edges`` set the torso.

    Returns
    -------
    float
        Torso length in the unit of ``keypoints``.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    lengths = []
    for a, b in skeleton.scale_edges:
        d = np.linalg.norm(kp[:, a] - kp[:, b], axis=-1)
        d = d[np.isfinite(d)]
        lengths.append(d.mean() if d.size else np.nan)  # NaN: the edge is never seen
    return float(np.mean(lengths))


def _normalised(keypoints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (skeleton.num_joints, 3) or kp.shape[0] < 2:
        raise ValueError(f"keypoints shape {kp.shape}: expected (T >= 2, {skeleton.num_joints}, 3)")
    filled = fill_nan_frames(keypoints=kp)  # all-NaN sequences stop here, with their own message
    scale = torso_length(keypoints=kp, skeleton=skeleton)  # finite: some frame has every joint
    if scale <= 0:
        raise ValueError("degenerate skeleton: zero torso length")
    return filled / scale


def _speed(pos: np.ndarray, fps: float) -> np.ndarray:
    """Speed (T, J) of normalised positions (T, J, 3), torso lengths / s."""
    return np.linalg.norm(np.gradient(pos, axis=0) * fps, axis=-1)


# The statistics of normalised positions (T, J, 3) in torso lengths, NaN-free (see _normalised).
def _joint_speed(pos: np.ndarray, fps: float) -> float:
    return float(_speed(pos, fps).mean())


def _wrist_speed(pos: np.ndarray, skeleton: Skeleton, fps: float) -> float:
    wrists = [skeleton.joints.index(n) for n in ("left_wrist", "right_wrist")]
    return float(_speed(pos[:, wrists], fps).mean())


def _foot_lift(pos: np.ndarray, skeleton: Skeleton) -> float:
    if not skeleton.contact_joints:
        return float("nan")
    up = pos[..., skeleton.up_axis]
    lifts = []
    for foot in skeleton.contact_joints:
        h = up[:, list(foot)].min(axis=1)  # the foot's lowest joint
        lifts.append(np.percentile(h - np.percentile(h, 5), 95))
    return float(np.mean(lifts))


def _root_bounce(pos: np.ndarray, skeleton: Skeleton) -> float:
    up = pos[:, list(skeleton.root_joints), skeleton.up_axis].mean(axis=1)
    return float(np.percentile(up, 95) - np.percentile(up, 5))


def joint_speed(*, keypoints: np.ndarray, skeleton: Skeleton, fps: float) -> float:
    """Mean joint speed.

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit, T >= 2; NaN frames are interpolated.
    skeleton : Skeleton
        The layout of ``keypoints``.
    fps : float
        Frames per second.

    Returns
    -------
    float
        Mean over frames and joints of the speed, torso lengths / s.
    """
    return _joint_speed(_normalised(keypoints, skeleton), fps)


def wrist_speed(*, keypoints: np.ndarray, skeleton: Skeleton, fps: float) -> float:
    """Mean speed of the wrists (``left_wrist`` and ``right_wrist``).

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit, T >= 2; NaN frames are interpolated.
    skeleton : Skeleton
        The layout of ``keypoints``; must name both wrists.
    fps : float
        Frames per second.

    Returns
    -------
    float
        Mean over frames and both wrists of the speed, torso lengths / s.
    """
    return _wrist_speed(_normalised(keypoints, skeleton), skeleton, fps)


def foot_lift(*, keypoints: np.ndarray, skeleton: Skeleton) -> float:
    """How high the feet leave the floor: p95 over frames of the foot height above its own p5.

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit; NaN frames are interpolated.
    skeleton : Skeleton
        The layout of ``keypoints``; a foot's height is its lowest ``contact_joints`` joint along
        ``up_axis``.

    Returns
    -------
    float
        Mean over the feet of the lift, torso lengths; NaN for a layout without contact joints.
    """
    return _foot_lift(_normalised(keypoints, skeleton), skeleton)


def root_bounce(*, keypoints: np.ndarray, skeleton: Skeleton) -> float:
    """Vertical range of the root: p95 − p5 over frames of its height.

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit; NaN frames are interpolated.
    skeleton : Skeleton
        The layout of ``keypoints``; the root is the mean of ``root_joints``.

    Returns
    -------
    float
        Root bounce, torso lengths.
    """
    return _root_bounce(_normalised(keypoints, skeleton), skeleton)


def motion_stats(*, keypoints: np.ndarray, skeleton: Skeleton, fps: float) -> dict[str, float]:
    """The four statistics of one sequence (see the module docstring).

    Parameters
    ----------
    keypoints : np.ndarray, shape (T, J, 3)
        Joint positions, any length unit, T >= 2; NaN frames are interpolated.
    skeleton : Skeleton
        The layout of ``keypoints``.
    fps : float
        Frames per second.

    Returns
    -------
    dict[str, float]
        One value per key of :data:`STATS`, in that order (speeds in torso lengths / s, lift and
        bounce in torso lengths).
    """
    pos = _normalised(keypoints, skeleton)
    return {
        "joint_speed": _joint_speed(pos, fps),
        "wrist_speed": _wrist_speed(pos, skeleton, fps),
        "foot_lift": _foot_lift(pos, skeleton),
        "root_bounce": _root_bounce(pos, skeleton),
    }


def summarize_stats(*, per_sequence: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median and range over sequences of each statistic.

    Parameters
    ----------
    per_sequence : sequence of dict
        :func:`motion_stats` results, one per sequence.

    Returns
    -------
    dict
        ``{stat: {"median", "min", "max", "n"}}`` for each key of :data:`STATS` (NaN values
        ignored; all NaN when no sequence has a value).
    """
    out = {}
    for key in STATS:
        v = np.array([s[key] for s in per_sequence], dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            out[key] = {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
        else:
            out[key] = {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}
    return out
