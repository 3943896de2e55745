"""Pose-to-audio-token generation: a transformer encoder over pose frames and a causal decoder over
codec tokens (issue #12's model; the tokenizers are :mod:`pipelines.families.dance2music.tokenizer`).

Choices (where DanceToMusic's code went wrong, and what this module does instead):

- **Missing poses are masked, never dropped.** The encoder takes every pose frame (joints and
  velocities, flattened) with a ``pose_mask`` (True where a pose was detected) as its key-padding
  mask, so the frames keep their times and stay aligned with the audio.
- **Time, not index, positions.** Encoder frames and decoder steps get sinusoidal encodings of
  their time in seconds (frame / ``pose_fps``, step / ``frame_rate``), so cross-attention can
  align a token with the pose frames around its time whatever the two rates.
- **Distinct special ids.** Each codebook's vocabulary is its ``codebook_size`` codes followed by
  PAD, BOS and EOS (ids ``C``, ``C+1``, ``C+2``): none collides with a code (id 0 is a code).
- **Delay pattern for K codebooks** (as MusicGen): codebook k runs k steps behind codebook 0,
  so at step s the decoder predicts code ``s`` of codebook 0, ``s-1`` of codebook 1, …, each
  conditioned on all earlier steps of every codebook. A clip of T frames takes T + K steps; the
  target of codebook k is its code ``s-k`` for ``0 <= s-k < T``, EOS at ``s-k == T`` and
  nothing (ignored) elsewhere. Inputs are the targets shifted right by one step behind a BOS,
  with BOS where a codebook has not started yet. The embeddings of the K inputs of a step sum.
- **Every previous token.** The decoder is causal self-attention over all earlier steps (plus
  cross-attention to the pose); :meth:`PoseToAudio.generate` keeps a key/value cache, so a step
  costs attention over the cache rather than a rerun of the prefix (a test checks both agree).
- **Rhythm where the decoder needs it.** With ``aligned`` (``dance2music.aligned``), each decoder step
  also adds a projection of the encoder output at its own time (:meth:`PoseToAudio.aligned_memory`),
  so the decoder knows what the dance does now instead of having to find it by cross-attention;
  the pose inputs can carry the dance's kinetic-beat pulse and speed
  (``dance2music.rhythm_pulse``, :func:`pipelines.families.dance2music.data.kinetic_pulse`). Without the two, the
  generated music's beats fall where chance puts them (the ``no_rhythm`` ablation).
- **Classifier-free guidance**: training replaces the pose memory by a learned null vector with
  probability ``cond_drop``; generation with ``guidance`` w > 1 mixes the logits as
  ``uncond + w (cond - uncond)``.
- **Sampling**: greedy (``temperature`` 0), temperature, top-k. Generation knows its length
  (T frames for the dance's duration) and samples codes only; EOS is trained but not needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

#: Offsets of the special ids after a codebook's codes.
PAD, BOS, EOS = 0, 1, 2
N_SPECIAL = 3
#: Target value the loss ignores.
IGNORE = -100


@dataclass(frozen=True)
class Vocabulary:
    """Ids of one codebook: codes ``0 … codebook_size-1``, then PAD, BOS, EOS."""

    codebook_size: int

    @property
    def pad(self) -> int:
        return self.codebook_size + PAD

    @property
    def bos(self) -> int:
        return self.codebook_size + BOS

    @property
    def eos(self) -> int:
        return self.codebook_size + EOS

    @property
    def size(self) -> int:
        return self.codebook_size + N_SPECIAL


def delayed_targets(codes: torch.Tensor, *, vocab: Vocabulary) -> torch.Tensor:
    """Targets (B, K, T + K) of codes (B, K, T) under the delay pattern (module docstring)."""
    B, K, T = codes.shape
    out = torch.full((B, K, T + K), IGNORE, dtype=torch.long, device=codes.device)
    for k in range(K):
        out[:, k, k : k + T] = codes[:, k]
        out[:, k, k + T] = vocab.eos
    return out


def delayed_inputs(targets: torch.Tensor, *, vocab: Vocabulary) -> torch.Tensor:
    """Decoder inputs (B, K, S): BOS, then the targets shifted by one step; BOS before a codebook
    starts, PAD after its EOS."""
    B, K, S = targets.shape
    x = torch.full_like(targets, vocab.bos)
    x[:, :, 1:] = targets[:, :, :-1]
    steps = torch.arange(S, device=targets.device)
    ks = torch.arange(K, device=targets.device)[:, None]
    not_started = steps[None, :] <= ks  # input s carries code s-1-k, which exists only from s = k+1
    x = torch.where(not_started[None], torch.full_like(x, vocab.bos), x)
    return torch.where(x == IGNORE, torch.full_like(x, vocab.pad), x)


def scheduled_inputs(
    inputs: torch.Tensor, predictions: torch.Tensor, *, ratio: float, vocab: Vocabulary, generator=None
) -> torch.Tensor:
    """Scheduled sampling: decoder inputs (B, K, S) where, at a ``ratio`` share of the steps (drawn
    per example and step), each code input is replaced by the model's prediction for it
    (``predictions`` (B, K, S) are for the next step, so the input at s takes prediction s−1).
    BOS, PAD and EOS inputs, and predictions that are not codes, are left alone."""
    own = torch.cat([inputs[:, :, :1], predictions[:, :, :-1]], dim=2)
    is_code = (inputs < vocab.codebook_size) & (own < vocab.codebook_size)
    pick = torch.rand(inputs.shape[0], 1, inputs.shape[2], generator=generator).to(inputs.device) < ratio
    return torch.where(pick & is_code, own, inputs)


def time_encoding(seconds: torch.Tensor, width: int, *, max_period_s: float = 100.0) -> torch.Tensor:
    """Sinusoidal encoding (..., width) of times in seconds (periods from 1/16 s up to ``max_period_s``)."""
    half = width // 2
    periods = torch.logspace(math.log10(1 / 16), math.log10(max_period_s), half, device=seconds.device)
    angle = 2 * math.pi * seconds[..., None] / periods
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


class Attention(nn.Module):
    """Multi-head attention with an optional key/value cache (self-attention) or fixed memory."""

    def __init__(self, width: int, *, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q, self.kv, self.out = nn.Linear(width, width), nn.Linear(width, 2 * width), nn.Linear(width, width)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(x, "b n (h d) -> b h n d", h=self.heads)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def forward(self, x, *, kv: tuple[torch.Tensor, torch.Tensor], mask=None, causal: bool = False):
        q = self.split(self.q(x))
        drop = self.dropout if self.training else 0.0
        h = F.scaled_dot_product_attention(q, *kv, attn_mask=mask, dropout_p=drop, is_causal=causal)
        return self.out(rearrange(h, "b h n d -> b n (h d)"))


class DecoderBlock(nn.Module):
    def __init__(self, width: int, *, heads: int, dropout: float):
        super().__init__()
        self.self_attn = Attention(width, heads=heads, dropout=dropout)
        self.cross_attn = Attention(width, heads=heads, dropout=dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(width) for _ in range(3)])
        self.ff = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * width, width)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x, *, memory_kv, memory_mask, cache: dict | None = None):
        """``cache``: None (whole sequence, causal) or a dict holding this block's past keys/values,
        extended in place by ``x`` (one or more new steps)."""
        h = self.norms[0](x)
        k, v = self.self_attn.keys_values(h)
        if cache is None:
            x = x + self.drop(self.self_attn(h, kv=(k, v), causal=True))
        else:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
            n_new, n_all = h.shape[1], k.shape[2]
            if n_new > 1:  # several new steps: each sees the cache and the new steps up to itself
                mask = torch.ones(n_new, n_all, dtype=torch.bool, device=x.device).tril(n_all - n_new)
                x = x + self.drop(self.self_attn(h, kv=(k, v), mask=mask))
            else:
                x = x + self.drop(self.self_attn(h, kv=(k, v)))
        x = x + self.drop(self.cross_attn(self.norms[1](x), kv=memory_kv, mask=memory_mask))
        return x + self.drop(self.ff(self.norms[2](x)))


class PoseToAudio(nn.Module):
    """Pose encoder, token decoder, and generation (module docstring).

    Parameters
    ----------
    pose_dim : int
        Features per pose frame (joints × 3 × 2: positions and velocities).
    codebook_size, n_codebooks : int
        The tokenizer's.
    pose_fps, frame_rate : float
        Pose frames and token frames per second.
    width, heads, encoder_layers, decoder_layers : int
    dropout : float
    cond_drop : float
        Probability, per training example, of replacing the pose by the null memory (classifier-free
        guidance; 0 turns it off).
    pose_stride : int
        Consecutive pose frames per encoder step (1: every frame a step).
    aligned : bool
        Also add to each decoder step (a projection of) the encoder output at that step's time
        (:meth:`aligned_memory`), so the decoder knows what the dance does *now* without having to
        find it by cross-attention.
    """

    def __init__(
        self,
        *,
        pose_dim: int,
        codebook_size: int,
        n_codebooks: int,
        pose_fps: float,
        frame_rate: float,
        width: int = 128,
        heads: int = 4,
        encoder_layers: int = 2,
        decoder_layers: int = 2,
        dropout: float = 0.1,
        cond_drop: float = 0.0,
        pose_stride: int = 1,
        aligned: bool = False,
    ):
        super().__init__()
        self.pose_stride, self.aligned = pose_stride, aligned
        self.vocab = Vocabulary(codebook_size)
        self.n_codebooks, self.pose_fps, self.frame_rate = n_codebooks, pose_fps, frame_rate
        self.width, self.cond_drop = width, cond_drop
        # per-feature standardisation of the pose (set from the training windows by set_pose_stats;
        # buffers, so a checkpoint carries them)
        self.register_buffer("pose_mean", torch.zeros(pose_dim))
        self.register_buffer("pose_std", torch.ones(pose_dim))
        self.pose_in = nn.Sequential(nn.LayerNorm(pose_dim * pose_stride), nn.Linear(pose_dim * pose_stride, width))
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, encoder_layers, enable_nested_tensor=False)
        self.null_memory = nn.Parameter(torch.zeros(1, 1, width))
        self.embed = nn.ModuleList([nn.Embedding(self.vocab.size, width) for _ in range(n_codebooks)])
        self.blocks = nn.ModuleList([DecoderBlock(width, heads=heads, dropout=dropout) for _ in range(decoder_layers)])
        self.align_in = nn.Linear(width, width) if aligned else None
        self.norm = nn.LayerNorm(width)
        self.heads = nn.ModuleList([nn.Linear(width, self.vocab.size) for _ in range(n_codebooks)])

    # --- encoder ---------------------------------------------------------------------------
    def set_pose_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardise pose features by these (pose_dim,) statistics (of the detected training frames)."""
        self.pose_mean.copy_(mean)
        self.pose_std.copy_(std.clamp_min(1e-6))

    def encode(self, pose: torch.Tensor, pose_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory (B, F', width) and its attention mask (B, 1, 1, F') from pose (B, F, pose_dim) and
        ``pose_mask`` (B, F), True where a pose was detected (NaN frames elsewhere are zeroed).

        Every ``pose_stride`` consecutive frames form one encoder step (their features side by side,
        F' = ceil(F / stride)), at the time of the group's centre; a step is masked when none of its
        frames has a pose.
        """
        pose = (torch.nan_to_num(pose) - self.pose_mean) / self.pose_std
        pose = torch.where(pose_mask[..., None], pose, torch.zeros_like(pose))
        s = self.pose_stride
        if s > 1:
            pad = (-pose.shape[1]) % s
            pose = F.pad(pose, (0, 0, 0, pad))
            pose_mask = F.pad(pose_mask, (0, pad), value=False)
            pose = rearrange(pose, "b (f s) d -> b f (s d)", s=s)
            pose_mask = rearrange(pose_mask, "b (f s) -> b f s", s=s).any(dim=2)
        t = (torch.arange(pose.shape[1], device=pose.device) * s + (s - 1) / 2) / self.pose_fps
        h = self.pose_in(pose) + time_encoding(t, self.width)
        # a clip with no detected pose at all attends to its first step rather than to nothing
        key_ok = pose_mask.clone()
        key_ok[~key_ok.any(dim=1), 0] = True
        memory = self.encoder(h, src_key_padding_mask=~key_ok)
        return memory, key_ok[:, None, None, :]

    def null(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        mem = self.null_memory.expand(batch, 1, self.width)
        return mem, torch.ones(batch, 1, 1, 1, dtype=torch.bool, device=mem.device)

    # --- decoder ---------------------------------------------------------------------------
    def embed_steps(self, inputs: torch.Tensor, start: int = 0) -> torch.Tensor:
        """(B, K, S) ids -> (B, S, width): the K embeddings summed, plus the steps' time encoding."""
        x = sum(self.embed[k](inputs[:, k]) for k in range(self.n_codebooks))
        t = (torch.arange(inputs.shape[2], device=inputs.device) + start) / self.frame_rate
        return x + time_encoding(t, self.width)

    def aligned_memory(self, memory: torch.Tensor, memory_mask: torch.Tensor, *, steps: int, start: int = 0):
        """(B, steps, width): for decoder steps ``start …``, the encoder output at the step's time
        (the encoder step whose centre is nearest; 0 where it has no pose). The null memory of
        classifier-free guidance (one step) is its own value at every step."""
        s = self.pose_stride
        t = (torch.arange(steps, device=memory.device) + start) / self.frame_rate
        index = torch.round((t * self.pose_fps - (s - 1) / 2) / s).long().clamp(0, memory.shape[1] - 1)
        keep = memory_mask[:, 0, 0, :].to(memory.dtype)[..., None]  # (B, F', 1)
        return (memory * keep)[:, index]

    def decode(self, inputs: torch.Tensor, memory, memory_mask, *, caches: list | None = None, start: int = 0):
        """Logits (B, K, S, vocab) for decoder inputs (B, K, S)."""
        x = self.embed_steps(inputs, start)
        if self.aligned:
            x = x + self.align_in(self.aligned_memory(memory, memory_mask, steps=inputs.shape[2], start=start))
        for i, block in enumerate(self.blocks):
            cache = None if caches is None else caches[i]
            if cache is not None and "memory_kv" in cache:
                kv = cache["memory_kv"]
            else:
                kv = block.cross_attn.keys_values(memory)
                if cache is not None:
                    cache["memory_kv"] = kv
            x = block(x, memory_kv=kv, memory_mask=memory_mask, cache=cache)
        x = self.norm(x)
        return torch.stack([head(x) for head in self.heads], dim=1)

    # --- training --------------------------------------------------------------------------
    def forward(self, pose, pose_mask, codes, *, sampling_ratio: float = 0.0, generator=None) -> dict:
        """Cross-entropy of the codes (B, K, T) given the pose; with ``sampling_ratio`` > 0 that share of
        the decoder inputs (chosen per step) is replaced by the model's own greedy predictions from a
        first teacher-forced pass (scheduled sampling). Returns ``loss``, ``accuracy`` and ``logits``."""
        memory, mask = self.encode(pose, pose_mask)
        if self.training and self.cond_drop > 0:
            drop = torch.rand(pose.shape[0], generator=generator, device="cpu").to(pose.device) < self.cond_drop
            null, _ = self.null(pose.shape[0])
            memory = torch.where(drop[:, None, None], null.expand_as(memory), memory)
            mask = mask | drop[:, None, None, None]
        targets = delayed_targets(codes, vocab=self.vocab)
        inputs = delayed_inputs(targets, vocab=self.vocab)
        if sampling_ratio > 0:
            with torch.no_grad():
                guess = self.decode(inputs, memory, mask).argmax(-1)  # (B, K, S): prediction for step s
            inputs = scheduled_inputs(inputs, guess, ratio=sampling_ratio, vocab=self.vocab, generator=generator)
        logits = self.decode(inputs, memory, mask)
        loss = F.cross_entropy(rearrange(logits, "b k s v -> (b k s) v"), targets.flatten(), ignore_index=IGNORE)
        valid = targets != IGNORE
        acc = (logits.argmax(-1) == targets)[valid].float().mean()
        return {"loss": loss, "accuracy": acc, "logits": logits, "targets": targets}

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        pose: torch.Tensor,
        pose_mask: torch.Tensor,
        *,
        frames: int,
        temperature: float = 1.0,
        top_k: int = 0,
        guidance: float = 1.0,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Codes (B, K, ``frames``), free-running from BOS (no target token is read).

        ``temperature`` 0 is greedy; ``top_k`` > 0 samples among the k most likely codes;
        ``guidance`` > 1 applies classifier-free guidance. ``use_cache`` False reruns the whole
        prefix every step (the reference the cache is tested against).
        """
        B, K, C = pose.shape[0], self.n_codebooks, self.vocab.codebook_size
        memory, mask = self.encode(pose, pose_mask)
        streams = [(memory, mask)]
        if guidance != 1.0:
            streams.append(self.null(B))
        caches = [[{} for _ in self.blocks] for _ in streams]
        steps = frames + K - 1  # the last code of codebook K-1 is predicted at step frames + K - 2
        inputs = torch.full((B, K, 1), self.vocab.bos, dtype=torch.long, device=pose.device)
        out = torch.zeros(B, K, frames, dtype=torch.long, device=pose.device)
        for s in range(steps):
            logits = []
            for (mem, msk), cache in zip(streams, caches):
                if use_cache:
                    step_logits = self.decode(inputs[:, :, -1:], mem, msk, caches=cache, start=s)
                else:
                    step_logits = self.decode(inputs, mem, msk)
                logits.append(step_logits[:, :, -1, :C].float())  # codes only
            z = logits[0] if len(logits) == 1 else logits[1] + guidance * (logits[0] - logits[1])
            code = sample(z, temperature=temperature, top_k=top_k, generator=generator)  # (B, K)
            nxt = torch.full((B, K), self.vocab.bos, dtype=torch.long, device=pose.device)
            for k in range(K):
                t = s - k
                if 0 <= t < frames:
                    out[:, k, t] = code[:, k]
                    nxt[:, k] = code[:, k]
                elif t == frames:
                    nxt[:, k] = self.vocab.eos
                elif t > frames:
                    nxt[:, k] = self.vocab.pad
            inputs = torch.cat([inputs, nxt[:, :, None]], dim=2)
        return out


def sample(logits: torch.Tensor, *, temperature: float, top_k: int, generator=None) -> torch.Tensor:
    """Ids (...) from logits (..., V): argmax at temperature 0, else softmax(logits / T) within the top k."""
    if temperature <= 0:
        return logits.argmax(-1)
    z = logits / temperature
    if 0 < top_k < z.shape[-1]:
        kth = z.topk(top_k, dim=-1).values[..., -1:]
        z = z.masked_fill(z < kth, float("-inf"))
    probs = z.softmax(-1)
    flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]).cpu(), 1, generator=generator)
    return flat.reshape(probs.shape[:-1]).to(logits.device)


def generator_variant(params: dict, variant: str) -> dict:
    """Params of a generator variant: ``main`` as they are, else ``dance2music.variants[variant]``
    applied (:func:`pipelines.family.resolve_variant`; e.g. ``perceptual``: the perceptual loss on;
    ``no_rhythm``: without the rhythm channels and the aligned decoder input)."""
    from ...family import resolve_variant

    return resolve_variant(params, "dance2music", variant)


def generator_config(params: dict, size: str | None = None) -> dict:
    """The ``generate`` params at ``size`` (default ``dance2music.size``): ``small`` is the keys
    themselves, another size ``dance2music.sizes[size]`` over them."""
    cfg = dict(params["dance2music"])
    size = size or cfg["size"]
    if size != "small":
        if size not in cfg["sizes"]:
            from ...config import ParamsError

            raise ParamsError(
                f"params.yaml: dance2music.size: {size!r} is neither small nor one of dance2music.sizes {sorted(cfg['sizes'])}"
            )
        cfg.update(cfg["sizes"][size])
    return cfg


def build_generator(params: dict, *, pose_dim: int, pose_fps: float, size: str | None = None) -> PoseToAudio:
    """A :class:`PoseToAudio` from :func:`generator_config` for the configured tokenizer's layout."""
    from .tokenizer import token_layout

    cfg = generator_config(params, size)
    layout = token_layout(params)
    return PoseToAudio(
        pose_dim=pose_dim,
        codebook_size=layout["codebook_size"],
        n_codebooks=layout["n_codebooks"],
        pose_fps=pose_fps,
        frame_rate=layout["frame_rate"],
        width=cfg["width"],
        heads=cfg["heads"],
        encoder_layers=cfg["encoder_layers"],
        decoder_layers=cfg["decoder_layers"],
        dropout=cfg["dropout"],
        cond_drop=cfg["cond_drop"],
        pose_stride=cfg["pose_stride"],
        aligned=cfg["aligned"],
    )


def generator_from_checkpoint(ckpt: dict) -> PoseToAudio:
    """Rebuild the generator (eval mode) from a checkpoint dict written by stage ``train_dance2music``."""
    layout = ckpt["layout"]
    model = PoseToAudio(
        codebook_size=layout["codebook_size"],
        n_codebooks=layout["n_codebooks"],
        frame_rate=layout["frame_rate"],
        **ckpt["arch"],
    )
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
