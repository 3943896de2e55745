"""Training step rate of the temporal retrieval model (``make gpu-check`` times it beside the others)."""

from __future__ import annotations

import torch

from ...data.skeleton import Skeleton
from ...datasets import skeleton_layout
from ...training.bench_steps import optimizer_step, time_steps
from .model import build_model

#: Audio features per frame of the retrieval models' input (log-mel, MFCC, onset, beat), for the bench.
RETRIEVAL_AUDIO_DIM = 96 + 20 + 2


def temporal_rate(params: dict, size: str, device: torch.device, *, steps: int) -> dict:
    """Training windows per second of the temporal retrieval model (``size`` small: its params; paper: the same)."""
    cfg = params["temporal"]
    joints = Skeleton(skeleton_layout(params)).num_joints
    frames, batch = params["train"]["window_frames"], params["train"]["batch_size"]
    a_dim, m_dim = RETRIEVAL_AUDIO_DIM, joints * 3 * 2
    stats = lambda d: (torch.zeros(d), torch.ones(d))  # noqa: E731
    torch.manual_seed(0)
    model = build_model(
        "temporal", cfg, audio_dim=a_dim, motion_dim=m_dim, audio_stats=stats(a_dim), motion_stats=stats(m_dim)
    )
    model = model.to(device).train()
    audio = torch.randn(batch, frames, a_dim, device=device)
    motion = torch.randn(batch, frames, m_dim, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step = optimizer_step(lambda: model.head.loss(model.embed_audio(audio), model.embed_motion(motion)), opt)
    wall = time_steps(step, steps=steps, device=device)
    return {
        "size": size,
        "device": device.type,
        "batch_size": batch,
        "windows_per_second": round(steps * batch / wall, 1),
    }
