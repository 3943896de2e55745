"""Seeding and device choice: one place for both, used by every training and inference path."""

from __future__ import annotations

import numpy as np
import torch

from ..config import ParamsError


def seed_everything(seed: int) -> None:
    """Seed torch and numpy and ask torch for deterministic kernels (warn where none exist)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pick_device(setting: str) -> torch.device:
    """The torch device of the top-level ``device`` param: ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ParamsError("params.yaml: device: cuda requested but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def configure_device(params: dict) -> torch.device:
    """:func:`pick_device` of the ``device`` param, with ``cuda.cudnn_benchmark`` applied when it is CUDA."""
    device = pick_device(params["device"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(params["cuda"]["cudnn_benchmark"])
    return device


def use_amp(params: dict, device: torch.device) -> bool:
    """Whether training forward passes run under bfloat16 autocast: ``cuda.amp`` on a CUDA device."""
    return device.type == "cuda" and bool(params["cuda"]["amp"])
