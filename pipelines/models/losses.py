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
