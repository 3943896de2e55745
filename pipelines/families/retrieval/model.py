"""Retrieval models over the shards: inputs, encoders, the contrastive head, checkpoints in and out.

Inputs (one place): every model sees the same frame features of a window,

- audio: ``audio/logmel`` (96) + ``audio/mfcc`` (20) + ``audio/onset_env`` (1) + ``audio/beats`` (1)
- motion: ``motion/joints`` (J·3) + ``motion/velocity`` (J·3)

standardised with the training split's per-dimension mean and std. The pooled models
(``linear``, ``clip``) see the window's frames pooled by ``pooling``: ``mean`` (the seed
paper's mean pooling) or ``mean_std`` (mean and standard deviation of every dimension);
the ``temporal`` model sees the frame sequence.

Models
------
``linear``   ridge regression from pooled audio to pooled motion (the seed paper's baseline);
             the audio embedding is the predicted motion vector, the motion embedding the
             pooled motion vector itself.
``clip``     an MLP per modality on pooled features into a shared l2-normalised space,
             symmetric InfoNCE with a learnable temperature and in-batch negatives.
``temporal`` a dilated 1-D conv encoder per modality over the frames, then the same head
             and loss as ``clip``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ...data.torch_data import ShardDataset
from ...errors import InputError
from ...training.losses import symmetric_infonce
from .names import RETRIEVAL_MODELS

AUDIO_INPUTS = ("audio/logmel", "audio/mfcc", "audio/onset_env", "audio/beats")
MOTION_INPUTS = ("motion/joints", "motion/velocity")


def frame_features(batch: dict, names: tuple[str, ...]) -> torch.Tensor:
    """Concatenate per-frame features into (B, T, D) float32."""
    parts = []
    for n in names:
        x = batch[n].float()
        parts.append(x.reshape(x.shape[0], x.shape[1], -1))
    return torch.cat(parts, dim=-1)


POOLED_WIDTH = {"mean": 1, "mean_std": 2}


def pool(x: torch.Tensor, how: str) -> torch.Tensor:
    """(B, T, D) -> (B, D) mean over frames, or (B, 2D) mean and standard deviation."""
    if how == "mean":
        return x.mean(dim=1)
    return torch.cat([x.mean(dim=1), x.std(dim=1, unbiased=False)], dim=-1)


class Standardizer(nn.Module):
    """Per-dimension standardisation with statistics fixed from the training split."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float().clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ContrastiveHead(nn.Module):
    """Learnable temperature and the symmetric InfoNCE loss over l2-normalised embeddings."""

    def __init__(self, temperature_init: float):
        super().__init__()
        self.log_inv_temp = nn.Parameter(torch.tensor(math.log(1.0 / temperature_init)))

    def logits(self, a: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return self.log_inv_temp.clamp(max=math.log(100.0)).exp() * a @ m.t()

    def loss(self, a: torch.Tensor, m: torch.Tensor, *, not_negative: torch.Tensor | None = None) -> torch.Tensor:
        return symmetric_infonce(self.logits(a, m), not_negative=not_negative)

    @property
    def temperature(self) -> float:
        return float(1.0 / self.log_inv_temp.detach().exp())


def _mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, d_out),
    )


class PooledContrastive(nn.Module):
    """CLIP-style model on statistics-pooled window features."""

    def __init__(
        self,
        *,
        audio_dim: int,
        motion_dim: int,
        audio_norm: Standardizer,
        motion_norm: Standardizer,
        pooling: str,
        hidden: int,
        embed_dim: int,
        dropout: float,
        temperature_init: float,
    ):
        super().__init__()
        self.audio_norm, self.motion_norm, self.pooling = audio_norm, motion_norm, pooling
        width = POOLED_WIDTH[pooling]
        self.audio = _mlp(width * audio_dim, hidden, embed_dim, dropout)
        self.motion = _mlp(width * motion_dim, hidden, embed_dim, dropout)
        self.head = ContrastiveHead(temperature_init)

    def embed_audio(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio(pool(self.audio_norm(x), self.pooling)), dim=-1)

    def embed_motion(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.motion(pool(self.motion_norm(x), self.pooling)), dim=-1)


class ConvEncoder(nn.Module):
    """A strided input layer (half the frame rate), dilated residual 1-D convolutions, then
    mean+max pooling over time and a projection."""

    def __init__(self, d_in: int, *, channels: int, layers: int, kernel_size: int, embed_dim: int, dropout: float):
        super().__init__()
        self.inp = nn.Conv1d(d_in, channels, 2, stride=2)  # halve the frame rate
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size // 2) * 2**i, dilation=2**i),
                nn.GroupNorm(8 if channels % 8 == 0 else 1, channels),
                nn.GELU(),
                nn.Dropout(dropout),
            )
            for i in range(layers)
        )
        self.out = nn.Linear(2 * channels, embed_dim)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Per-step states (B, C, T // 2) before pooling."""
        h = self.inp(rearrange(x, "b t d -> b d t"))
        for block in self.blocks:
            h = h + block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.states(x)
        pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=-1)
        return F.normalize(self.out(pooled), dim=-1)


class TemporalContrastive(nn.Module):
    """Conv encoders over the frame sequences of each window, InfoNCE head."""

    def __init__(
        self,
        *,
        audio_dim: int,
        motion_dim: int,
        audio_norm: Standardizer,
        motion_norm: Standardizer,
        channels: int,
        layers: int,
        kernel_size: int,
        embed_dim: int,
        dropout: float,
        temperature_init: float,
    ):
        super().__init__()
        self.audio_norm, self.motion_norm = audio_norm, motion_norm
        kw = dict(channels=channels, layers=layers, kernel_size=kernel_size, embed_dim=embed_dim, dropout=dropout)
        self.audio = ConvEncoder(audio_dim, **kw)
        self.motion = ConvEncoder(motion_dim, **kw)
        self.head = ContrastiveHead(temperature_init)

    def embed_audio(self, x: torch.Tensor) -> torch.Tensor:
        return self.audio(self.audio_norm(x))

    def embed_motion(self, x: torch.Tensor) -> torch.Tensor:
        return self.motion(self.motion_norm(x))

    def audio_steps(self, x: torch.Tensor) -> torch.Tensor:
        """The music encoder's per-step states (B, T // 2, C), two frames a step (the beat-tracking probe)."""
        return rearrange(self.audio.states(self.audio_norm(x)), "b c t -> b t c")


class RidgeBaseline(nn.Module):
    """Ridge regression from pooled audio to pooled motion (closed form, see :func:`fit_ridge`)."""

    def __init__(
        self, *, audio_dim: int, motion_dim: int, audio_norm: Standardizer, motion_norm: Standardizer, pooling: str
    ):
        super().__init__()
        self.audio_norm, self.motion_norm, self.pooling = audio_norm, motion_norm, pooling
        wa, wm = POOLED_WIDTH[pooling] * audio_dim, POOLED_WIDTH[pooling] * motion_dim
        self.register_buffer("weight", torch.zeros(wa + 1, wm))
        self.register_buffer("pooled_mean", torch.zeros(wm))
        self.register_buffer("pooled_std", torch.ones(wm))

    def _pooled_motion(self, x: torch.Tensor) -> torch.Tensor:
        return (pool(self.motion_norm(x), self.pooling) - self.pooled_mean) / self.pooled_std

    def embed_audio(self, x: torch.Tensor) -> torch.Tensor:
        a = pool(self.audio_norm(x), self.pooling)
        a = torch.cat([a, torch.ones_like(a[:, :1])], dim=-1)
        return F.normalize(a @ self.weight, dim=-1)

    def embed_motion(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self._pooled_motion(x), dim=-1)


def fit_ridge(model: RidgeBaseline, audio: torch.Tensor, motion: torch.Tensor, *, alpha: float) -> None:
    """Fit ``model.weight`` in closed form on training windows (audio (N,T,Da), motion (N,T,Dm))."""
    with torch.no_grad():
        pm = pool(model.motion_norm(motion), model.pooling).double()
        model.pooled_mean.copy_(pm.mean(0).float())
        model.pooled_std.copy_(pm.std(0).clamp_min(1e-6).float())
        y = (pm - pm.mean(0)) / pm.std(0).clamp_min(1e-6)
        x = pool(model.audio_norm(audio), model.pooling).double()
        x = torch.cat([x, torch.ones_like(x[:, :1])], dim=-1)
        reg = alpha * torch.eye(x.shape[1], dtype=x.dtype)
        reg[-1, -1] = 0.0  # no penalty on the intercept
        w = torch.linalg.solve(x.t() @ x + reg, x.t() @ y)
        model.weight.copy_(w.float())


def build_model(
    name: str, cfg: dict, *, audio_dim: int, motion_dim: int, audio_stats: tuple, motion_stats: tuple
) -> nn.Module:
    """Construct a model from its params section."""
    a_norm, m_norm = Standardizer(*audio_stats), Standardizer(*motion_stats)
    if name == "linear":
        return RidgeBaseline(
            audio_dim=audio_dim, motion_dim=motion_dim, audio_norm=a_norm, motion_norm=m_norm, pooling=cfg["pooling"]
        )
    if name == "clip":
        return PooledContrastive(
            audio_dim=audio_dim,
            motion_dim=motion_dim,
            audio_norm=a_norm,
            motion_norm=m_norm,
            pooling=cfg["pooling"],
            hidden=cfg["hidden"],
            embed_dim=cfg["embed_dim"],
            dropout=cfg["dropout"],
            temperature_init=cfg["temperature_init"],
        )
    if name == "temporal":
        return TemporalContrastive(
            audio_dim=audio_dim,
            motion_dim=motion_dim,
            audio_norm=a_norm,
            motion_norm=m_norm,
            channels=cfg["channels"],
            layers=cfg["layers"],
            kernel_size=cfg["kernel_size"],
            embed_dim=cfg["embed_dim"],
            dropout=cfg["dropout"],
            temperature_init=cfg["temperature_init"],
        )
    raise ValueError(f"unknown model {name!r}; known: {RETRIEVAL_MODELS}")


def feature_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std over windows and frames of (N, T, D)."""
    flat = x.reshape(-1, x.shape[-1]).double()
    return flat.mean(0).float(), flat.std(0).float()


def run_windows(params: dict, *, fold: int | None, roles: tuple[str, ...]) -> dict[str, dict]:
    """The windows of each role (``train``, ``val``, ``test``) for one run: the dataset's split
    shards, or under ``fold`` the windows of every split re-divided by
    :func:`pipelines.data.protocols.fold_roles`."""
    from ...config import SPLITS, Paths
    from ...data.protocols import fold_roles

    paths, W = Paths(params), params["train"]["window_frames"]
    if fold is None:
        return {r: load_windows(paths.shard_file(W, r)) for r in roles}
    parts = [load_windows(paths.shard_file(W, s)) for s in SPLITS if paths.shard_file(W, s).exists()]
    every = {
        "audio": torch.cat([p["audio"] for p in parts]),
        "motion": torch.cat([p["motion"] for p in parts]),
        "meta": [m for p in parts for m in p["meta"]],
    }
    ecfg = params["evaluate"]
    role_of = fold_roles(
        every["meta"], fold=fold, folds=ecfg["folds"], seed=params["seed"], val_fraction=ecfg["val_fraction"]
    )
    out = {}
    for r in roles:
        idx = np.flatnonzero(role_of == r)
        t = torch.as_tensor(idx, dtype=torch.long)
        out[r] = {"audio": every["audio"][t], "motion": every["motion"][t], "meta": [every["meta"][i] for i in idx]}
    return out


def load_windows(path: Path) -> dict:
    """All windows of a shard as model inputs: ``audio`` (N, T, Da), ``motion`` (N, T, Dm) and ``meta``."""
    if not Path(path).exists():
        raise InputError(path, "shard not found; run the shards stage first")
    ds = ShardDataset(path, fields=AUDIO_INPUTS + MOTION_INPUTS)
    batch = ds.read_batch(range(len(ds)))
    meta = [ds.meta(i) for i in range(len(ds))]
    return {"audio": frame_features(batch, AUDIO_INPUTS), "motion": frame_features(batch, MOTION_INPUTS), "meta": meta}


@torch.no_grad()
def embed(
    model: nn.Module, audio: torch.Tensor, motion: torch.Tensor, *, device: torch.device, batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """l2-normalised embeddings (N, E) of every window, in eval mode, on the CPU."""
    model.eval()
    a, m = [], []
    for s in range(0, audio.shape[0], batch_size):
        a.append(model.embed_audio(audio[s : s + batch_size].to(device)).cpu())
        m.append(model.embed_motion(motion[s : s + batch_size].to(device)).cpu())
    return torch.cat(a), torch.cat(m)


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild a retrieval model (eval mode) from a checkpoint dict written by stage ``train_<model>``."""
    name, dims = ckpt["model"], ckpt["dims"]
    zeros_a, zeros_m = torch.zeros(dims["audio_dim"]), torch.zeros(dims["motion_dim"])
    model = build_model(
        name, ckpt["params"][name], **dims, audio_stats=(zeros_a, zeros_a + 1), motion_stats=(zeros_m, zeros_m + 1)
    )
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
