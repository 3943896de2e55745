"""Dance-to-music training examples: pose frames (with their detection mask) and the audio tokens
of the same seconds (issue #12; the model is :mod:`pipelines.families.dance2music.model`).

A clip or sequence gives windows of ``seconds`` (default 5 s) every ``stride_seconds``. Pose
frames stay at the clip's own rate; the tokens of a window start at the code frame of its first
pose frame by the rule the shards use (:func:`pipelines.features.shards.code_span`), so pose and
audio start together. Frames without a detected pose are kept, marked False in the mask (never
dropped: dropping them would shift the pose against the audio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...features.shards import MAX_SHORT_CODES, code_span

#: Channels :func:`kinetic_pulse` adds to each pose frame (kinetic-beat pulse, mean joint speed).
RHYTHM_CHANNELS = 2


def pose_inputs(
    joints: np.ndarray, *, fps: float, kinetic_min_separation_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame model inputs and detection mask of a pose sequence.

    Parameters
    ----------
    joints : np.ndarray, shape (T, J, 3)
        Joint positions (any unit); NaN where no pose was found.
    fps : float
        Frames per second.
    kinetic_min_separation_s : float, optional
        When given, two rhythm channels follow (:func:`kinetic_pulse`): the dance's kinetic-beat
        pulse and its mean joint speed, with kinetic beats found as the motion features find them
        (this minimum separation, s).

    Returns
    -------
    features : np.ndarray, shape (T, J * 6 [+ 2]), float32
        Joints relative to the frame's joint centroid, then velocities (unit / s; 0 where the
        frame or its predecessor has no pose), then the rhythm channels. 0 on frames without a pose.
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
    parts = [centred.reshape(T, J * 3), velocity.reshape(T, J * 3)]
    if kinetic_min_separation_s is not None and mask.any():
        parts.append(
            np.where(mask[:, None], kinetic_pulse(joints, fps=fps, min_separation_s=kinetic_min_separation_s), 0.0)
        )
    elif kinetic_min_separation_s is not None:
        parts.append(np.zeros((T, RHYTHM_CHANNELS)))
    features = np.concatenate(parts, axis=1)
    return features.astype(np.float32), mask


def kinetic_pulse(joints: np.ndarray, *, fps: float, min_separation_s: float, width_s: float = 1 / 30) -> np.ndarray:
    """Rhythm channels (T, 2) of a pose sequence (T, J, 3) with NaN where no pose was found.

    Column 0: a pulse that is 1 on each kinetic beat and falls off as a Gaussian of ``width_s``
    around it; column 1: the mean joint speed (unit / s). Both from the missing frames filled by
    linear interpolation, the speed and beats exactly as :func:`pipelines.features.motion.kinetic_beats`
    finds them for the motion features (so the dance's beats the evaluation scores against are the
    ones the model is shown).
    """
    from scipy.ndimage import gaussian_filter1d

    from ...features.motion import interpolate_nan_frames, kinetic_beats

    filled, _ = interpolate_nan_frames(joints)
    speed = np.linalg.norm(np.gradient(filled, axis=0) * fps, axis=-1).mean(axis=1)
    pulse = np.zeros(len(speed))
    pulse[kinetic_beats(speed=speed, fps=fps, min_separation_s=min_separation_s)] = 1.0
    sigma = width_s * fps
    pulse = gaussian_filter1d(pulse, sigma=sigma, mode="constant") * np.sqrt(2 * np.pi) * sigma
    return np.stack([np.minimum(pulse, 1.0), speed], axis=1)


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


def sequence_examples(
    *,
    positions: np.ndarray,
    pose_fps: float,
    codes: np.ndarray,
    code_rate: float,
    audio_offset_s: float,
    seconds: float,
    stride_seconds: float,
    kinetic_min_separation_s: float | None = None,
) -> list[dict]:
    """The windows of one sequence: ``pose`` (F, J·6), ``mask`` (F,), ``codes`` (K, Tc), ``pose_start``.

    ``positions`` (T, J, 3) has NaN where no pose was found; ``codes`` (K, C) are the tokens of the
    sequence's whole music file, whose time ``t / pose_fps + audio_offset_s`` pairs with pose frame
    ``t``. A positive offset skips the first codes, a negative one the first pose frames (so both
    start together), then :func:`generation_windows` cuts the windows.
    """
    features, mask = pose_inputs(positions, fps=pose_fps, kinetic_min_separation_s=kinetic_min_separation_s)
    skip_pose = max(0, int(round(-audio_offset_s * pose_fps)))
    skip_codes = max(0, int(round(audio_offset_s * code_rate)))
    features, mask, codes = features[skip_pose:], mask[skip_pose:], codes[:, skip_codes:]
    out = []
    for w in generation_windows(
        pose_frames=features.shape[0],
        pose_fps=pose_fps,
        code_frames=codes.shape[1],
        code_rate=code_rate,
        seconds=seconds,
        stride_seconds=stride_seconds,
    ):
        sl = slice(w["pose_start"], w["pose_start"] + w["pose_frames"])
        out.append(
            {
                "pose": features[sl],
                "mask": mask[sl],
                "codes": take_codes(codes, w),
                "pose_start": w["pose_start"] + skip_pose,
            }
        )
    return out


def pulse_separation(params: dict) -> float | None:
    """The kinetic beats' minimum separation (s) when ``dance2music.rhythm_pulse`` adds the rhythm channels, else None."""
    return params["motion"]["kinetic_min_separation_s"] if params["dance2music"]["rhythm_pulse"] else None


def dataset_examples(params: dict, *, split: str, tokenizer) -> list[dict]:
    """Every window of the index's ``split`` sequences (synthetic, AIST++, MusicToDance): pose from the
    motion features (root added back; NaN where the source had none), tokens of the sequence's music by
    ``tokenizer`` (each file tokenized once). Each example also carries ``sequence``, ``piece`` and ``genre``."""
    from ...config import Paths
    from ...data.audio_io import read_audio_mono
    from ...data.items import with_features
    from ...datasets import motion_fps
    from ...files import read_csv

    paths, cfg, a = Paths(params), params["dance2music"], params["audio"]
    fps = motion_fps(params)
    tokens: dict[str, np.ndarray] = {}
    out = []
    for row in with_features(paths, read_csv(paths.index / "sequences.csv")):  # skips: the feature stages'
        if row["split"] != split:
            continue
        with np.load(paths.motion_features / f"{row['sequence']}.npz") as m:
            positions = m["joints"].astype(np.float64) + m["root"][:, None].astype(np.float64)
            positions[m["nan_mask"].astype(bool)] = np.nan
        if row["audio_path"] not in tokens:
            y, sr = read_audio_mono(
                row["audio_path"], min_sample_rate=a["min_sample_rate"], min_seconds=a["min_seconds"]
            )
            tokens[row["audio_path"]] = tokenizer.tokenize(y, sr=sr)
        for ex in sequence_examples(
            positions=positions,
            pose_fps=fps,
            codes=tokens[row["audio_path"]],
            code_rate=tokenizer.frame_rate,
            audio_offset_s=float(row["audio_offset_s"]),
            seconds=cfg["seconds"],
            stride_seconds=cfg["stride_seconds"],
            kinetic_min_separation_s=pulse_separation(params),
        ):
            out.append(
                {
                    **ex,
                    "sequence": row["sequence"],
                    "piece": row["piece"],
                    "genre": row["genre"],
                    "audio_path": row["audio_path"],
                    "audio_offset_s": float(row["audio_offset_s"]),
                }
            )
    return out


@dataclass
class GenerationSet:
    """Windows of one split stacked for training: ``pose`` (N, F, D) float32, ``mask`` (N, F) bool,
    ``codes`` (N, K, T) int64 and one ``meta`` dict per window (``sequence``, ``piece``, ``genre``,
    ``pose_start``: its first motion frame, ``audio_path`` and ``audio_offset_s``)."""

    pose: np.ndarray
    mask: np.ndarray
    codes: np.ndarray
    meta: list[dict]

    def __len__(self) -> int:
        return len(self.meta)

    @classmethod
    def from_examples(cls, examples: list[dict]) -> GenerationSet:
        if not examples:
            raise ValueError("no windows to stack")
        meta_keys = ("sequence", "piece", "genre", "pose_start", "audio_path", "audio_offset_s")
        return cls(
            pose=np.stack([e["pose"] for e in examples]).astype(np.float32),
            mask=np.stack([e["mask"] for e in examples]).astype(bool),
            codes=np.stack([e["codes"] for e in examples]).astype(np.int64),
            meta=[{k: e[k] for k in meta_keys if k in e} for e in examples],
        )

    def pose_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (D,) of the pose features over the detected frames."""
        frames = self.pose[self.mask]
        if frames.shape[0] == 0:
            return np.zeros(self.pose.shape[2], np.float32), np.ones(self.pose.shape[2], np.float32)
        return frames.mean(axis=0).astype(np.float32), frames.std(axis=0).astype(np.float32)

    def subset(self, index: np.ndarray) -> GenerationSet:
        index = np.asarray(index)
        return GenerationSet(self.pose[index], self.mask[index], self.codes[index], [self.meta[i] for i in index])

    def tensors(self, index: np.ndarray, device) -> dict:
        """The windows ``index`` as tensors on ``device``: ``pose``, ``mask``, ``codes``."""
        import torch

        index = np.asarray(index)
        return {
            "pose": torch.as_tensor(self.pose[index], device=device),
            "mask": torch.as_tensor(self.mask[index], device=device),
            "codes": torch.as_tensor(self.codes[index], device=device),
        }


def split_windows(params: dict, split: str, tokenizer) -> GenerationSet:
    """The stacked windows of one split (:func:`dataset_examples`); none is an InputError naming the index."""
    from ...config import Paths
    from ...errors import InputError

    examples = dataset_examples(params, split=split, tokenizer=tokenizer)
    if not examples:
        raise InputError(
            Paths(params).index / "sequences.csv",
            f"no {split} sequence is {params['dance2music']['seconds']} s long (dance2music.seconds)",
        )
    return GenerationSet.from_examples(examples)
