"""MotionBeat's losses and training run (the model is :mod:`pipelines.families.motionbeat.model`).

Loss terms, each a named entry of the loss dict :func:`pipelines.training.loop.fit` sums with
its weight:

- ``ecl``, the embodied contrastive loss (:func:`pipelines.training.losses.embodied_infonce`):
  symmetric InfoNCE over the batch whose denominators add, per anchor,

  - *tempo negatives*: ``tempo_negatives.count`` windows of other pieces whose tempo is within
    ± ``tempo_negatives.tolerance_bpm`` of the anchor's (drawn from the training windows; their
    motion for a music anchor, their music for a motion anchor), weight ``tempo_negatives.weight``;
  - *beat-jitter negatives* (music anchors): the anchor's own motion moved along its sequence by
    +1, −1, +½ and −½ beat (the first ``jitter_negatives.count``; a shift that would leave the
    sequence takes the opposite sign), with the music and its bar phases kept: the right dance
    off the beat. Weight ``jitter_negatives.weight``.

  Each negative's logit gets ``log(weight)`` added, so a weight of 0 removes that type and
  with both at 0 the loss is plain symmetric InfoNCE.
- ``sral_beat``: soft-DTW divergence (``sral.gamma``) between the music's predicted accent curve
  and the motion's contact pulse, plus between the motion's predicted accent curve and the
  music's onset peaks; weight ``sral.beat_weight``.
- ``sral_bar``: earth mover's distance between the two predicted accent curves' mass over
  ``sral.bar_bins`` bar positions; weight ``sral.bar_weight``.

A term whose weight is 0 is not computed. Augmentation (``train.augment``): left/right
mirroring and turns about the vertical axis of the motion tokens; no time shift (the tokens
sit on the beat grid). An epoch is ``epoch_windows`` windows drawn afresh (0: all). Model selection, early stopping, schedule and batch size are the
retrieval models' (``train``).
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from ...data.skeleton import Skeleton
from ...evaluation.retrieval import relevance, retrieval_metrics
from ...features.beat_windows import TokenSet
from ...training.augment import mirror, random_angles, rotate_about_vertical
from ...training.losses import embodied_infonce, not_negative_mask
from .losses import accent_histogram, bar_emd, soft_dtw_divergence
from .model import MotionBeat

log = logging.getLogger(__name__)


def motionbeat_config(params: dict) -> dict:
    """The ``motionbeat`` params with the token grid's ``subdivisions`` and the tempo negatives'
    ``tolerance_bpm`` from the ``rhythm`` section (one place for the grid every model is scored on)."""
    cfg, rhythm = params["motionbeat"], params["rhythm"]
    return {
        **cfg,
        "subdivisions": rhythm["subdivisions"],
        "tempo_negatives": {**cfg["tempo_negatives"], "tolerance_bpm": rhythm["tempo_tolerance_bpm"]},
    }


def jitter_shifts(cfg: dict) -> list[int]:
    """Token shifts of the beat-jitter negatives: +1, −1, +½, −½ beat, the first ``count``."""
    S = cfg["subdivisions"]
    return [S, -S, S // 2, -(S // 2)][: cfg["jitter_negatives"]["count"]]


def tempo_neighbours(tokens: TokenSet, *, tolerance_bpm: float) -> list[np.ndarray]:
    """For each window, the windows of other pieces whose median tempo is within ± the tolerance."""
    tempo = tokens.window_tempo()
    piece = np.array([m["piece"] for m in tokens.meta])
    close = np.abs(tempo[:, None] - tempo[None, :]) <= tolerance_bpm
    close &= piece[:, None] != piece[None, :]
    return [np.flatnonzero(row) for row in close]


def resolve_shifts(tokens: TokenSet, windows: np.ndarray, shifts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(B, K) token shifts (the opposite sign where a shift leaves the sequence) and (B, K) validity."""
    out = np.zeros((len(windows), len(shifts)), dtype=np.int64)
    ok = np.zeros_like(out, dtype=bool)
    for k, s in enumerate(shifts):
        fwd = tokens.shift_ok(windows, np.full(len(windows), s))
        back = tokens.shift_ok(windows, np.full(len(windows), -s))
        out[:, k] = np.where(fwd, s, -s)
        ok[:, k] = fwd | back
    return out, ok


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def augment_motion(batch: dict, *, skeleton: Skeleton, aug: dict, generator: torch.Generator) -> dict:
    """Mirror and turn the motion tokens ((joints, velocities) per token) of a gathered batch."""
    m = batch["motion"]
    B, L = m.shape[:2]
    m = m.view(B, L, 2, skeleton.num_joints, 3)
    if aug["mirror_prob"] > 0:
        which = torch.rand(B, generator=generator) < aug["mirror_prob"]
        m = mirror(m, mirror_index=torch.as_tensor(skeleton.mirror_index), which=which)
    if aug["rotate_deg"] > 0:
        angles = random_angles(B, max_deg=aug["rotate_deg"], generator=generator)
        m = rotate_about_vertical(m, angles=angles, up_axis=skeleton.up_axis)
    return {**batch, "motion": m.reshape(B, L, -1)}


class MotionBeatObjective:
    """The loss terms of one batch (module docstring), for one model and its params."""

    def __init__(self, model: MotionBeat, cfg: dict, *, negatives_rule: str):
        self.model, self.cfg, self.rule = model, cfg, negatives_rule

    @property
    def weights(self) -> dict[str, float]:
        s = self.cfg["sral"]
        return {"ecl": 1.0, "sral_beat": s["beat_weight"], "sral_bar": s["bar_weight"]}

    def __call__(self, batch: dict) -> dict[str, torch.Tensor]:
        """``batch``: ``anchor`` (gathered windows), ``piece_id``/``music_start`` (B,), ``tempo_neg``
        (gathered, B·Kt windows) with ``tempo_ok`` (B, Kt), ``jitter`` (gathered, B·Kj) with
        ``jitter_ok`` (B, Kj)."""
        model, cfg = self.model, self.cfg
        anchor = batch["anchor"]
        ha, hm = model.audio_states(anchor), model.motion_states(anchor)
        a, m = model.pool_audio(ha, anchor["mask"]), model.pool_motion(hm, anchor["mask"])
        scale = model.head.log_inv_temp.clamp(max=math.log(100.0)).exp()
        B = a.shape[0]
        extra_a2m, extra_m2a = [], []
        wt, wj = cfg["tempo_negatives"]["weight"], cfg["jitter_negatives"]["weight"]
        if wt > 0 and "tempo_neg" in batch:
            neg = batch["tempo_neg"]
            mt = model.embed_motion(neg).view(B, -1, a.shape[1])
            at = model.embed_audio(neg).view(B, -1, a.shape[1])
            log_w = math.log(wt)
            ok = batch["tempo_ok"]
            extra_a2m.append((scale * (a[:, None] * mt).sum(-1) + log_w).masked_fill(~ok, float("-inf")))
            extra_m2a.append((scale * (m[:, None] * at).sum(-1) + log_w).masked_fill(~ok, float("-inf")))
        if wj > 0 and "jitter" in batch:
            mj = model.embed_motion(batch["jitter"]).view(B, -1, a.shape[1])
            ok = batch["jitter_ok"]
            extra_a2m.append((scale * (a[:, None] * mj).sum(-1) + math.log(wj)).masked_fill(~ok, float("-inf")))
        mask = not_negative_mask(batch["piece_id"], batch["music_start"], rule=self.rule)
        terms = {
            "ecl": embodied_infonce(
                scale * a @ m.t(),
                extra_a2m=torch.cat(extra_a2m, dim=1) if extra_a2m else None,
                extra_m2a=torch.cat(extra_m2a, dim=1) if extra_m2a else None,
                not_negative=mask,
            )
        }
        s = cfg["sral"]
        if s["beat_weight"] > 0 or s["bar_weight"] > 0:
            acc_a, acc_m = model.accents(ha, side="audio"), model.accents(hm, side="motion")
            valid = anchor["mask"]
            if s["beat_weight"] > 0:
                kw = dict(gamma=s["gamma"], mask_x=valid, mask_y=valid)
                terms["sral_beat"] = (
                    0.5
                    * (
                        soft_dtw_divergence(acc_a, anchor["contact"], **kw).mean()
                        + soft_dtw_divergence(acc_m, anchor["onset"], **kw).mean()
                    )
                    / anchor["mask"].sum(1).float().mean()
                )
            if s["bar_weight"] > 0:
                hist = lambda acc: accent_histogram(acc, anchor["phase"], bins=s["bar_bins"], mask=valid)  # noqa: E731
                terms["sral_bar"] = bar_emd(hist(acc_a), hist(acc_m)).mean()
        return terms


class MotionBeatBatches:
    """Training batches: anchors, their tempo negatives and beat-jitter negatives, augmented."""

    def __init__(self, tokens: TokenSet, cfg: dict, tcfg: dict, *, skeleton: Skeleton, seed: int, device):
        self.tokens, self.cfg, self.tcfg, self.skeleton, self.device = tokens, cfg, tcfg, skeleton, device
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.neighbours = tempo_neighbours(tokens, tolerance_bpm=cfg["tempo_negatives"]["tolerance_bpm"])
        pieces: dict = {}
        self.piece_id = torch.tensor([pieces.setdefault(m["piece"], len(pieces)) for m in tokens.meta])
        self.music_start = torch.tensor([int(m["audio_start_frame"]) for m in tokens.meta])
        self.shifts = jitter_shifts(cfg)

    def _gather(self, windows: np.ndarray, shift: np.ndarray | None = None) -> dict:
        batch = self.tokens.gather(windows, shift=shift, length=int(self.tokens.win_len[windows].max()))
        return _to(
            augment_motion(batch, skeleton=self.skeleton, aug=self.tcfg["augment"], generator=self.gen), self.device
        )

    def sample(self, idx: np.ndarray) -> dict:
        """The batch of anchors ``idx`` (window indices) with their negatives."""
        out = {  # piece_id first: the training loop counts a batch's items by its first entry
            "piece_id": self.piece_id[idx],
            "music_start": self.music_start[idx],
            "anchor": self._gather(idx),
        }
        kt = self.cfg["tempo_negatives"]["count"]
        if self.cfg["tempo_negatives"]["weight"] > 0 and kt > 0:
            neg = np.zeros((len(idx), kt), dtype=np.int64)
            ok = np.zeros((len(idx), kt), dtype=bool)
            for i, w in enumerate(idx):
                cand = self.neighbours[w]
                if cand.size:
                    neg[i] = self.rng.choice(cand, size=kt, replace=cand.size < kt)
                    ok[i] = True
                else:
                    neg[i] = w
            out["tempo_neg"] = self._gather(neg.ravel())
            out["tempo_ok"] = torch.as_tensor(ok, device=self.device)
        if self.cfg["jitter_negatives"]["weight"] > 0 and self.shifts:
            shift, ok = resolve_shifts(self.tokens, idx, self.shifts)
            shift = np.where(ok, shift, 0)
            out["jitter"] = self._gather(np.repeat(idx, len(self.shifts)), shift.ravel())
            out["jitter_ok"] = torch.as_tensor(ok, device=self.device)
        return out

    def __call__(self, epoch: int):
        n, bs = len(self.tokens.meta), self.tcfg["batch_size"]
        order = torch.randperm(n, generator=self.gen).numpy()
        if self.cfg["epoch_windows"]:
            order = order[: self.cfg["epoch_windows"]]
        for s in range(0, n - 1, bs):
            idx = order[s : s + bs]
            if idx.size >= 2:
                yield self.sample(idx)


@torch.no_grad()
def embed_tokens(model: MotionBeat, tokens: TokenSet, *, device, batch_size: int = 256, states: bool = False):
    """Window embeddings (N, E) of music and motion, on the CPU; with ``states`` also the music's
    per-token states as a list of (n_tokens, width) arrays."""
    model.eval()
    a_all, m_all, per_token = [], [], []
    n = len(tokens.meta)
    for s in range(0, n, batch_size):
        idx = np.arange(s, min(s + batch_size, n))
        batch = _to(tokens.gather(idx, length=int(tokens.win_len[idx].max())), device)
        ha = model.audio_states(batch)
        a_all.append(model.pool_audio(ha, batch["mask"]).cpu())
        m_all.append(model.embed_motion(batch).cpu())
        if states:
            per_token += [h[: int(k)].cpu().numpy() for h, k in zip(ha, tokens.win_len[idx])]
    out = (torch.cat(a_all), torch.cat(m_all))
    return (*out, per_token) if states else out


def validation_scores(model: MotionBeat, tokens: TokenSet, *, device, piece_relevance: np.ndarray) -> dict:
    """Music → motion piece mAP over the validation windows (``val_piece_map``) and the plain
    InfoNCE of consecutive validation batches (``val_loss``)."""
    a, m = embed_tokens(model, tokens, device=device)
    scale = float(model.head.log_inv_temp.clamp(max=math.log(100.0)).exp())
    losses = []
    for s in range(0, a.shape[0] - 1, 64):
        la = scale * a[s : s + 64] @ m[s : s + 64].t()
        if la.shape[0] > 1:
            losses.append(float(embodied_infonce(la)) * la.shape[0])
    return {
        "val_loss": sum(losses) / max(a.shape[0], 1),
        "val_piece_map": retrieval_metrics((a @ m.t()).numpy(), piece_relevance, ks=(1,))["mAP"],
        "temperature": model.head.temperature,
    }


def train_motionbeat(
    model: MotionBeat,
    train: TokenSet,
    val: TokenSet,
    *,
    cfg: dict,
    tcfg: dict,
    seed: int,
    device: torch.device,
    skeleton: Skeleton,
    lr_lambda,
    live=None,
    amp: bool = False,
) -> dict:
    """Fit ``model`` (AdamW, the learning-rate schedule, model selection on the validation windows);
    returns the training record of :func:`pipelines.training.loop.fit`."""
    from ...training.loop import fit

    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    objective = MotionBeatObjective(model, cfg, negatives_rule=tcfg["negatives"])
    batches = MotionBeatBatches(train, cfg, tcfg, skeleton=skeleton, seed=seed, device=device)
    piece_relevance = relevance(val.meta, val.meta, key="piece")
    return fit(
        model,
        optimizer=opt,
        scheduler=sched,
        epochs=cfg["max_epochs"],
        batches=batches,
        loss=lambda batch, epoch: objective(batch),
        weights=objective.weights,
        validate=lambda: validation_scores(model, val, device=device, piece_relevance=piece_relevance),
        monitor=tcfg["select_by"],
        mode="min" if tcfg["select_by"] == "val_loss" else "max",
        patience=tcfg["patience"],
        live=live,
        desc="train MotionBeat",
        amp=amp,
    )
