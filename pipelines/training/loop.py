"""The one training loop: every model trains through :func:`fit`.

A model family supplies three things: ``batches(epoch)`` (its sampling, cropping and device
moves, each batch a dict of tensors), ``loss(batch, epoch)`` (a dict of named scalar loss
terms; the optimised loss is their sum, each times ``weights[name]``, default 1) and
optionally ``validate()`` (a dict of validation numbers, run after every epoch in eval mode
without gradients). With ``validate``, the epoch with the best ``monitor`` value is kept and
training stops after ``patience`` epochs without an improvement of more than ``min_delta``;
without it, every epoch runs and the last one is kept. Curves go to dvclive when ``live`` is
given; a tqdm bar shows progress on a terminal.
"""

from __future__ import annotations

import logging
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable

import torch
from tqdm import tqdm

log = logging.getLogger(__name__)


def fit(
    model: torch.nn.Module,
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batches: Callable[[int], Iterable[dict]],
    loss: Callable[[dict, int], dict],
    weights: dict[str, float] | None = None,
    validate: Callable[[], dict] | None = None,
    monitor: str = "val_loss",
    mode: str = "min",
    patience: int | None = None,
    min_delta: float = 1e-4,
    live=None,
    desc: str = "train",
    scheduler=None,
    amp: bool = False,
) -> dict:
    """Train ``model`` in place; returns the training record. ``amp``: the losses are computed under
    bfloat16 autocast on the model's device (CUDA; no gradient scaling is needed in bfloat16).

    Returns
    -------
    dict
        ``best_epoch`` (0-based), ``best_<monitor>`` (with ``validate``), ``epochs_run`` and
        ``history``: one dict per epoch with ``epoch``, ``train_loss`` (mean optimised loss
        per item), the mean of each term when there are several, and the validation numbers.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
    weights = weights or {}
    sign = 1.0 if mode == "min" else -1.0
    best = {"score": math.inf, "epoch": -1, "state": None}
    device_type = next(model.parameters()).device.type
    history: list[dict] = []
    bar = tqdm(range(epochs), desc=desc, disable=None, file=sys.stderr)
    for epoch in bar:
        model.train()
        sums: dict[str, float] = defaultdict(float)
        total, count = 0.0, 0
        for batch in batches(epoch):
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
                terms = loss(batch, epoch)
            objective = sum(weights.get(k, 1.0) * v for k, v in terms.items())
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            n = len(next(iter(batch.values())))
            total += float(objective.detach()) * n
            count += n
            for k, v in terms.items():
                sums[k] += float(v.detach()) * n
        row = {"epoch": epoch, "train_loss": total / max(count, 1)}
        if scheduler is not None:
            row["lr"] = optimizer.param_groups[0]["lr"]
            scheduler.step()
        if len(sums) > 1:
            row.update({k: v / max(count, 1) for k, v in sums.items()})
        if validate is not None:
            model.eval()
            with torch.no_grad():
                row.update(validate())
        history.append(row)
        if live is not None:
            for k, v in row.items():
                if k != "epoch":
                    live.log_metric(k, v)
            live.next_step()
        bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k in ("train_loss", monitor)})
        if validate is None:
            continue
        score = sign * row[monitor]
        if score < best["score"] - min_delta:
            best = {
                "score": score,
                "epoch": epoch,
                "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            }
        elif patience is not None and epoch - best["epoch"] >= patience:
            log.info("early stop at epoch %d (best %d, %s %.4f)", epoch, best["epoch"], monitor, sign * best["score"])
            break
    record = {"best_epoch": len(history) - 1, "epochs_run": len(history), "history": history}
    if validate is not None and best["state"] is not None:
        model.load_state_dict(best["state"])
        record.update({"best_epoch": best["epoch"], f"best_{monitor}": sign * best["score"]})
    model.eval()
    return record


def lr_lambda(tcfg: dict):
    """Multiplier of the base learning rate per epoch: ``constant``, or ``cosine`` (linear warm-up
    over ``warmup_epochs``, then a cosine decay towards 0 at ``max_epochs``)."""
    warm, total = tcfg["warmup_epochs"], tcfg["max_epochs"]
    if tcfg["lr_schedule"] == "constant":
        return lambda epoch: 1.0
    return lambda epoch: (
        (epoch + 1) / warm if epoch < warm else 0.5 * (1 + math.cos(math.pi * (epoch - warm) / max(1, total - warm)))
    )
