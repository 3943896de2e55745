"""Loss terms shared by the model families, each a plain function of tensors.

Models return their losses as a dict of named terms (see :func:`pipelines.training.loop.fit`),
built from these functions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_infonce(logits: torch.Tensor, *, not_negative: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP's loss) of a (B, B) logit matrix whose diagonal holds the positives:
    the mean of the row-wise and column-wise cross-entropies.

    ``not_negative`` (B, B) bool marks off-diagonal pairs that must not count as negatives
    (for example two windows with the very same music): they are left out of both softmax
    denominators. The diagonal is always the positive, whatever the mask says there.
    """
    target = torch.arange(logits.shape[0], device=logits.device)
    if not_negative is not None:
        drop = not_negative.to(logits.device) & ~torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(drop, float("-inf"))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def reconstruction_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between a reconstruction and its target (same shape)."""
    return F.mse_loss(prediction, target)


def not_negative_mask(piece_ids: torch.Tensor, music_starts: torch.Tensor, *, rule: str) -> torch.Tensor | None:
    """(B, B) pairs that are not negatives under ``train.negatives``: ``exclude_same_music`` (same
    piece and the same music start: identical music), ``exclude_same_piece``, or ``all`` (None)."""
    if rule == "all":
        return None
    same = piece_ids[:, None] == piece_ids[None, :]
    if rule == "exclude_same_music":
        same &= music_starts[:, None] == music_starts[None, :]
    return same


def embodied_infonce(
    logits: torch.Tensor,
    *,
    extra_a2m: torch.Tensor | None = None,
    extra_m2a: torch.Tensor | None = None,
    not_negative: torch.Tensor | None = None,
) -> torch.Tensor:
    """MotionBeat's embodied contrastive loss: symmetric InfoNCE whose denominators hold extra
    negatives per anchor.

    Parameters
    ----------
    logits : torch.Tensor, shape (B, B)
        Music i against motion j, positives on the diagonal (as :func:`symmetric_infonce`).
    extra_a2m : torch.Tensor, shape (B, K), optional
        Logits of music anchor i against its own extra motion negatives (tempo-matched windows
        of other pieces, its motion shifted off the beat), each already plus the log of its
        type's weight; ``-inf`` leaves a negative out (missing, or weight 0).
    extra_m2a : torch.Tensor, shape (B, K'), optional
        Motion anchor i against extra music negatives, likewise.
    not_negative : torch.Tensor, shape (B, B), bool, optional
        In-batch pairs that are not negatives (see :func:`symmetric_infonce`).

    Returns
    -------
    torch.Tensor, scalar
        With no extra negatives (or all ``-inf``: every weight 0) exactly :func:`symmetric_infonce`.
    """
    B = logits.shape[0]
    target = torch.arange(B, device=logits.device)
    if not_negative is not None:
        drop = not_negative.to(logits.device) & ~torch.eye(B, dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(drop, float("-inf"))

    def direction(rows: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        if extra is None or extra.shape[1] == 0:
            return F.cross_entropy(rows, target)
        return F.cross_entropy(torch.cat([rows, extra], dim=1), target)

    return 0.5 * (direction(logits, extra_a2m) + direction(logits.t(), extra_m2a))
