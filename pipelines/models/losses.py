"""Loss terms shared by the model families, each a plain function of tensors.

Models return their losses as a dict of named terms (see :func:`pipelines.training.loop.fit`),
built from these functions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_infonce(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP's loss) of a (B, B) logit matrix whose diagonal holds the positives:
    the mean of the row-wise and column-wise cross-entropies."""
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def reconstruction_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between a reconstruction and its target (same shape)."""
    return F.mse_loss(prediction, target)
