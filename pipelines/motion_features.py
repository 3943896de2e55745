"""Stage ``motion_features``: per-sequence motion features.

One ``<sequence>.npz`` per sequence holds (T motion frames at the dataset's fps, J joints,
E = J − 1 bones of the dataset's :class:`~pipelines.skeleton.Skeleton`):

=================  ===========  ==============================================================
``joints``         (T, J, 3)    root-centred joints in body units (1 = mean torso length)
``root``           (T, 3)       root (pelvis) trajectory relative to frame 0, body units
``bones``          (T, E, 3)    bone vectors child − parent, body units
``velocity``       (T, J, 3)    joint velocity in the world frame, body units / s
``speed``          (T,)         mean joint speed, body units / s
``kinetic_beats``  (T,)         1 on kinetic beats (local minima of smoothed ``speed``), else 0
``nan_mask``       (T,)         1 where the source frame had NaN (values there are interpolated)
``scale_cm``       ()           the body unit in source units (cm for AIST++ / MusicToDance)
``fps``            ()           frames per second
=================  ===========  ==============================================================
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from .common import InputError, Skips, atomic_dir, n_workers, parallel_map, read_csv, run_stage
from .config import SKELETON_LAYOUT, Paths, motion_fps
from .datasets import load_keypoints
from .skeleton import Skeleton

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


def extract_motion_features(kp: np.ndarray, *, skeleton: Skeleton, fps: float, max_nan_fraction: float,
                            kinetic_min_separation_s: float, source: str = "<array>") -> dict:
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
    scale = float(np.mean([np.linalg.norm(filled[:, a] - filled[:, b], axis=-1).mean() for a, b in skeleton.scale_edges]))
    if not np.isfinite(scale) or scale <= 1e-6:
        raise InputError(source, "degenerate skeleton (zero torso length)")
    joints = (filled - root[:, None]) / scale
    velocity = np.gradient(filled / scale, axis=0) * fps
    speed = np.linalg.norm(velocity, axis=-1).mean(axis=1)
    beats = np.zeros(kp.shape[0], np.uint8)
    beats[kinetic_beats(speed=speed, fps=fps, min_separation_s=kinetic_min_separation_s)] = 1
    return {
        "joints": joints.astype(np.float32), "root": ((root - root[0]) / scale).astype(np.float32),
        "bones": skeleton.bones(joints).astype(np.float32), "velocity": velocity.astype(np.float32),
        "speed": speed.astype(np.float32), "kinetic_beats": beats, "nan_mask": nan_mask,
        "scale_cm": np.float64(scale), "fps": np.float64(fps),
    }


def _one_sequence(job: tuple):
    row, params, out_dir = job
    try:
        kp = load_keypoints(row["motion_path"], row["motion_key"])
        feats = extract_motion_features(
            kp, skeleton=Skeleton(SKELETON_LAYOUT[params["dataset"]]), fps=motion_fps(params),
            max_nan_fraction=params["motion"]["max_nan_fraction"],
            kinetic_min_separation_s=params["motion"]["kinetic_min_separation_s"], source=row["motion_path"])
    except InputError as err:
        return row["sequence"], err
    np.savez(Path(out_dir) / f"{row['sequence']}.npz", **feats)
    return row["sequence"], None


def main(params: dict) -> None:
    paths = Paths(params)
    rows = read_csv(paths.index / "sequences.csv")
    skips = Skips(params["on_error"])
    with atomic_dir(paths.motion_features) as tmp:
        for name, err in parallel_map(_one_sequence, [(r, params, tmp) for r in rows], workers=n_workers(params)):
            if err is not None:
                skips.handle(name, err)
        skips.write(tmp / "skipped.csv")
    log.info("motion features: %d sequences, %d skipped", len(rows) - len(skips.rows), len(skips.rows))


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
