"""MotionBeat: music and motion encoders over beat-synchronous tokens (arXiv 2510.13244).

The paper publishes no code; this is built from its description. Where it is silent the
choice is ours, and a param (``motionbeat`` in params.yaml):

- **Tokens** (:mod:`pipelines.features.beat_windows`): each beat cut into ``subdivisions`` tokens,
  frame features averaged per token; every token carries its bar phase and tempo. The tempo
  enters as an input feature, ``log2(tempo / 120)``.
- **Encoders**: a pre-norm transformer per modality (``layers``, ``width``, ``heads``), its
  tokens pooled by a masked mean into an l2-normalised embedding (``embed_dim``).
- **Bar-equivariant phase rotation** (``phase_rotation``): a rotary encoding whose angle for
  frequency ``k`` (``k = 1 … dim / 2``, integers) is ``2π k · phase``, phase the token's
  position in the bar, applied twice: to each token's input embedding (absolute: a token's state
  depends on where in the bar it sits, so the same dance moved by a beat reads differently) and
  to the queries and keys of every attention layer (relative: scores depend on phase differences
  modulo one bar). Both repeat every bar, so moving the input by whole bars leaves the attention
  scores and the embedding unchanged. A rotary encoding on queries and keys alone would not do:
  with a steady tempo it is equivariant to *every* shift, and the mean-pooled embedding could
  not tell a dance on the beat from the same dance a beat late. Without it (ablation
  ``no_phase``), the token index gets the usual sinusoidal position embedding, added to the input.
- **Contact-guided attention** (``contact_attention``, motion side): every attention logit
  towards key token ``j`` gets ``w_h · c_j``, ``c_j`` the contact pulse of the token
  (:func:`pipelines.features.motion.contact_pulse`), ``w_h`` a learned weight per head clamped
  to ±``contact_clamp``.
- **Accent heads**: a linear layer and a sigmoid per token on each encoder's output, the
  predicted accent curve the structural rhythm alignment loss compares
  (:mod:`pipelines.families.motionbeat.losses`).

:class:`MotionBeat` owns the encoders and heads; its losses are assembled in
:mod:`pipelines.families.motionbeat.training`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..retrieval.model import ContrastiveHead, Standardizer


def rotate_by_phase(x: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """Rotary encoding driven by bar phase.

    Parameters
    ----------
    x : torch.Tensor, shape (B, H, L, D), D even
        Queries or keys.
    phase : torch.Tensor, shape (B, L)
        Bar position of each token in [0, 1).

    Returns
    -------
    torch.Tensor, shape (B, H, L, D)
        Pairs ``(x[2k], x[2k+1])`` rotated by ``2π (k + 1) · phase``.
    """
    D = x.shape[-1]
    freqs = torch.arange(1, D // 2 + 1, device=x.device, dtype=x.dtype)
    angle = 2 * math.pi * phase[:, None, :, None].to(x.dtype) * freqs  # (B, 1, L, D/2)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


def index_positions(length: int, width: int, *, device=None) -> torch.Tensor:
    """Sinusoidal position embedding of token indices, shape (length, width)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width, device=device)
    out[:, 0::2] = torch.sin(pos * div)
    out[:, 1::2] = torch.cos(pos * div)
    return out


class Attention(nn.Module):
    """Multi-head self-attention with optional phase rotation and an additive contact bias."""

    def __init__(self, width: int, *, heads: int, contact_bias: bool, contact_clamp: float):
        super().__init__()
        if width % heads or (width // heads) % 2:
            raise ValueError(f"width {width} must split into {heads} heads of even size")
        self.heads, self.clamp = heads, contact_clamp
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.contact_weight = nn.Parameter(torch.full((heads,), 0.5)) if contact_bias else None

    def scores(
        self, x: torch.Tensor, *, mask: torch.Tensor, phase: torch.Tensor | None, contact: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention logits (B, H, L, L) before the softmax, and the values (B, H, L, D)."""
        q, k, v = rearrange(self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.heads)
        if phase is not None:
            q, k = rotate_by_phase(q, phase), rotate_by_phase(k, phase)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if self.contact_weight is not None and contact is not None:
            w = self.contact_weight.clamp(-self.clamp, self.clamp)
            logits = logits + w[None, :, None, None] * contact[:, None, None, :].to(logits.dtype)
        return logits.masked_fill(~mask[:, None, None, :], float("-inf")), v

    def forward(self, x, *, mask, phase=None, contact=None):
        logits, v = self.scores(x, mask=mask, phase=phase, contact=contact)
        return self.out(rearrange(logits.softmax(dim=-1) @ v, "b h l d -> b l (h d)"))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, width: int, *, heads: int, dropout: float, contact_bias: bool, contact_clamp: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, heads=heads, contact_bias=contact_bias, contact_clamp=contact_clamp)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, *, mask, phase=None, contact=None):
        x = x + self.drop(self.attn(self.norm1(x), mask=mask, phase=phase, contact=contact))
        return x + self.drop(self.mlp(self.norm2(x)))


class TokenEncoder(nn.Module):
    """Token features (+ log tempo) -> per-token states (B, L, width)."""

    def __init__(
        self,
        d_in: int,
        *,
        norm: Standardizer,
        width: int,
        layers: int,
        heads: int,
        dropout: float,
        phase_rotation: bool,
        contact_bias: bool = False,
        contact_clamp: float = 0.0,
    ):
        super().__init__()
        self.norm, self.phase_rotation, self.width = norm, phase_rotation, width
        self.inp = nn.Linear(d_in + 1, width)
        self.blocks = nn.ModuleList(
            Block(width, heads=heads, dropout=dropout, contact_bias=contact_bias, contact_clamp=contact_clamp)
            for _ in range(layers)
        )
        self.final = nn.LayerNorm(width)

    def forward(self, x, *, phase, tempo, mask, contact=None) -> torch.Tensor:
        h = self.inp(torch.cat([self.norm(x), torch.log2(tempo.clamp_min(1.0) / 120.0)[..., None]], dim=-1))
        if self.phase_rotation:
            h = rotate_by_phase(h[:, None], phase)[:, 0]
        else:
            h = h + index_positions(h.shape[1], self.width, device=h.device)
        rot = phase if self.phase_rotation else None
        for block in self.blocks:
            h = block(h, mask=mask, phase=rot, contact=contact)
        return self.final(h)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, D) averaged over the valid tokens of ``mask`` (B, L) -> (B, D)."""
    w = mask.to(h.dtype)[..., None]
    return (h * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


class MotionBeat(nn.Module):
    """Music and motion token encoders, accent heads and the contrastive temperature.

    Batches are the dicts of :meth:`pipelines.features.beat_windows.TokenSet.gather`.
    """

    def __init__(
        self,
        *,
        audio_dim: int,
        motion_dim: int,
        audio_norm: Standardizer,
        motion_norm: Standardizer,
        width: int,
        layers: int,
        heads: int,
        embed_dim: int,
        dropout: float,
        temperature_init: float,
        phase_rotation: bool,
        contact_attention: bool,
        contact_clamp: float,
    ):
        super().__init__()
        kw = dict(width=width, layers=layers, heads=heads, dropout=dropout, phase_rotation=phase_rotation)
        self.audio = TokenEncoder(audio_dim, norm=audio_norm, **kw)
        self.motion = TokenEncoder(
            motion_dim, norm=motion_norm, contact_bias=contact_attention, contact_clamp=contact_clamp, **kw
        )
        self.contact_attention = contact_attention
        self.audio_proj, self.motion_proj = nn.Linear(width, embed_dim), nn.Linear(width, embed_dim)
        self.audio_accent, self.motion_accent = nn.Linear(width, 1), nn.Linear(width, 1)
        self.head = ContrastiveHead(temperature_init)

    def audio_states(self, batch: dict) -> torch.Tensor:
        return self.audio(batch["audio"], phase=batch["phase"], tempo=batch["tempo"], mask=batch["mask"])

    def motion_states(self, batch: dict) -> torch.Tensor:
        contact = batch["contact"] if self.contact_attention else None
        return self.motion(
            batch["motion"], phase=batch["phase"], tempo=batch["tempo"], mask=batch["mask"], contact=contact
        )

    def pool_audio(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.audio_proj(masked_mean(states, mask)), dim=-1)

    def pool_motion(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.motion_proj(masked_mean(states, mask)), dim=-1)

    def embed_audio(self, batch: dict) -> torch.Tensor:
        return self.pool_audio(self.audio_states(batch), batch["mask"])

    def embed_motion(self, batch: dict) -> torch.Tensor:
        return self.pool_motion(self.motion_states(batch), batch["mask"])

    def accents(self, states: torch.Tensor, *, side: str) -> torch.Tensor:
        """Predicted accent per token in (0, 1), (B, L)."""
        head = self.audio_accent if side == "audio" else self.motion_accent
        return torch.sigmoid(head(states)).squeeze(-1)


def build_motionbeat(
    cfg: dict, *, audio_dim: int, motion_dim: int, audio_stats: tuple, motion_stats: tuple
) -> MotionBeat:
    """A :class:`MotionBeat` from the ``motionbeat`` params (after an ablation's overrides)."""
    return MotionBeat(
        audio_dim=audio_dim,
        motion_dim=motion_dim,
        audio_norm=Standardizer(*audio_stats),
        motion_norm=Standardizer(*motion_stats),
        width=cfg["width"],
        layers=cfg["layers"],
        heads=cfg["heads"],
        embed_dim=cfg["embed_dim"],
        dropout=cfg["dropout"],
        temperature_init=cfg["temperature_init"],
        phase_rotation=cfg["phase_rotation"],
        contact_attention=cfg["contact_attention"],
        contact_clamp=cfg["contact_clamp"],
    )


def motionbeat_from_checkpoint(ckpt: dict) -> MotionBeat:
    """Rebuild a MotionBeat model (eval mode) from a checkpoint written by stage ``train_motionbeat``."""
    dims = ckpt["dims"]
    za, zm = torch.zeros(dims["audio_dim"]), torch.zeros(dims["motion_dim"])
    model = build_motionbeat(ckpt["params"]["motionbeat"], **dims, audio_stats=(za, za + 1), motion_stats=(zm, zm + 1))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
