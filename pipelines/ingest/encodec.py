"""EnCodec (``transformers.EncodecModel``): load local weights, encode mono audio to codes, decode codes.

Where weights come from and what ``codes.npz`` holds: :mod:`pipelines.stages.encodec`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import librosa
import numpy as np
import torch

from ..errors import InputError

log = logging.getLogger(__name__)


def load_encodec(model: str):
    """EncodecModel from a local directory or the Hugging Face cache (never a silent download
    when ``HF_HUB_OFFLINE`` is set)."""
    from transformers import EncodecModel

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        m = EncodecModel.from_pretrained(model, local_files_only=offline or Path(model).exists())
    except (OSError, ValueError) as exc:
        raise InputError(
            model,
            "EnCodec weights not found: put a save_pretrained() folder there, or the "
            "facebook/encodec_24khz files in the Hugging Face cache (HF_HOME)",
        ) from exc
    return m.eval()


@torch.no_grad()
def encode(model, y: np.ndarray, *, sr: int, bandwidth_kbps: float) -> np.ndarray:
    """Codes (n_codebooks, frames) of mono audio ``y`` at ``sr`` Hz."""
    target = model.config.sampling_rate
    if sr != target:
        y = librosa.resample(y, orig_sr=sr, target_sr=target)
    x = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None].to(model.device)
    out = model.encode(x, bandwidth=bandwidth_kbps)
    codes = out.audio_codes  # (chunks, batch, n_q, frames)
    return codes[0, 0].cpu().numpy().astype(np.int16)


@torch.no_grad()
def decode_codes(model, codes: np.ndarray) -> np.ndarray:
    """Waveform (samples,) at ``model.config.sampling_rate`` from codes (n_codebooks, frames)."""
    c = torch.from_numpy(codes.astype(np.int64))[None, None].to(model.device)
    audio = model.decode(c, [None])[0]
    return audio[0, 0].cpu().numpy()


def frame_rate(model) -> float:
    """Code frames per second of ``model``."""
    return model.config.sampling_rate / float(np.prod(model.config.upsampling_ratios))
