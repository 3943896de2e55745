"""Window arithmetic: how much of a sequence both streams cover, and where windows start."""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

WINDOW_FIELDS = [
    "window",
    "sequence",
    "piece",
    "genre",
    "dancer",
    "split",
    "start_frame",
    "audio_start_frame",
    "frames",
]


def aligned_length(
    *, motion_frames: int, audio_frames: int, audio_offset_frames: int, max_mismatch_frames: int, audio_path: str
) -> int:
    """Frames usable by both streams.

    Audio may run past the end of the motion (AIST++ music is longer than the dance); audio
    that ends more than ``max_mismatch_frames`` before the motion is an error.
    """
    if audio_offset_frames < 0:
        raise InputError(audio_path, f"negative audio offset ({audio_offset_frames} frames)")
    audio_left = audio_frames - audio_offset_frames
    if motion_frames - audio_left > max_mismatch_frames:
        raise InputError(
            audio_path,
            f"audio covers {audio_left} frames after the offset but the motion has "
            f"{motion_frames}; lengths differ by more than {max_mismatch_frames} frames",
        )
    return min(motion_frames, audio_left)


def window_starts(*, length: int, frames: int, stride: int) -> np.ndarray:
    """Start frames of windows of ``frames`` frames every ``stride`` frames within ``length``."""
    if length < frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, length - frames + 1, stride, dtype=np.int64)
