"""Augmentations that keep music and motion aligned, for windows of retrieval inputs.

Motion inputs are ``(B, T, S, J, 3)``: S position-like streams per joint (root-centred joints
and world-frame velocities), the vertical axis ``up_axis``. Every augmentation moves both
modalities together or touches only the motion in a way the music cannot tell:

- :func:`aligned_crops`: each window cropped at its own random offset, the same offset for its
  audio and its motion (a time shift that keeps tempo and alignment);
- :func:`mirror`: left and right swapped by the skeleton's symmetry and the lateral
  coordinate negated (a reflection through a vertical plane: still a human dancing);
- :func:`rotate_about_vertical`: the body turned by a random angle about the vertical axis.
"""

from __future__ import annotations

import math

import torch


def aligned_crops(
    audio: torch.Tensor, motion: torch.Tensor, *, crop: int, generator: torch.Generator, per_window: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crops of ``crop`` frames from (B, T, ·) audio and motion; returns both and the offsets (B,)."""
    B, T = audio.shape[:2]
    if per_window:
        offsets = torch.randint(0, T - crop + 1, (B,), generator=generator)
    else:
        offsets = torch.randint(0, T - crop + 1, (1,), generator=generator).expand(B)
    frames = offsets[:, None] + torch.arange(crop)[None, :]  # (B, crop)
    pick = lambda x: torch.gather(x, 1, frames.view(B, crop, *([1] * (x.dim() - 2))).expand(B, crop, *x.shape[2:]))  # noqa: E731
    return pick(audio), pick(motion), offsets


def mirror(
    motion: torch.Tensor, *, mirror_index: torch.Tensor, which: torch.Tensor, lateral_axis: int = 0
) -> torch.Tensor:
    """Mirror the windows where ``which`` (B,) is true: joints permuted by ``mirror_index``, the
    ``lateral_axis`` coordinate negated. ``motion`` is (B, T, S, J, 3)."""
    flipped = motion[..., mirror_index, :].clone()
    flipped[..., lateral_axis] = -flipped[..., lateral_axis]
    return torch.where(which.view(-1, 1, 1, 1, 1), flipped, motion)


def rotate_about_vertical(motion: torch.Tensor, *, angles: torch.Tensor, up_axis: int = 1) -> torch.Tensor:
    """Rotate each window's (B, T, S, J, 3) coordinates by ``angles`` (B,) radians about ``up_axis``."""
    a, b = [i for i in range(3) if i != up_axis]
    cos, sin = torch.cos(angles).view(-1, 1, 1, 1), torch.sin(angles).view(-1, 1, 1, 1)
    out = motion.clone()
    out[..., a] = cos * motion[..., a] + sin * motion[..., b]
    out[..., b] = -sin * motion[..., a] + cos * motion[..., b]
    return out


def random_angles(n: int, *, max_deg: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` angles uniform in ±``max_deg`` degrees, in radians."""
    return (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_deg)
