"""Dance-to-music training run (the model is :mod:`pipelines.models.dance2music`; the windows
:class:`pipelines.data.generation.GenerationSet`).

Through the one training loop (:func:`pipelines.training.loop.fit`):

- **Loss**: ``ce``, cross-entropy of the delayed token targets given the pose, teacher-forced
  with scheduled sampling: a share of the decoder inputs, :func:`sampling_ratio` of the epoch
  (``generate.scheduled_sampling``: ``start`` at epoch 0, linear to ``end`` at ``ramp_epochs``,
  then flat), is the model's own greedy prediction instead of the true token.
- **Validation by free-running generation**: after every epoch the first ``val_windows``
  validation windows are generated from BOS with the configured sampling (``generate.sampling``,
  a fixed seed, so every epoch draws alike) and scored by ``val_free_mel_error``: the mean
  squared distance between the log-mel the generated codes stand for and that of the true codes
  (:func:`pipelines.models.audio_tokenizer.token_logmel`), over the true frames' variance (0 =
  the tokenizer's own rendering of the true music, 1 = no better than its mean frame). The kept
  checkpoint is the epoch with the lowest value (never the training loss); teacher-forced
  validation loss and accuracy and the free-running token accuracy are logged beside it.
- An epoch is ``epoch_windows`` training windows drawn afresh (0: all of them); early stopping
  after ``patience`` epochs without improvement; AdamW with the ``lr_schedule``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.generation import GenerationSet
from ..models.audio_tokenizer import token_logmel
from ..models.dance2music import PoseToAudio
from .loop import fit


def sampling_ratio(schedule: dict, epoch: int) -> float:
    """Share of decoder inputs replaced by the model's predictions at ``epoch`` (0-based)."""
    start, end, ramp = schedule["start"], schedule["end"], schedule["ramp_epochs"]
    if ramp <= 0:
        return float(end)
    return float(start + (end - start) * min(1.0, epoch / ramp))


@torch.no_grad()
def generate_codes(
    model: PoseToAudio, windows: GenerationSet, *, sampling: dict, seed: int, device, batch_size: int = 32
) -> np.ndarray:
    """Free-running codes (N, K, T) of every window, T as the windows' true codes."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    out = []
    for s in range(0, len(windows), batch_size):
        b = windows.tensors(np.arange(s, min(s + batch_size, len(windows))), device)
        codes = model.generate(
            b["pose"],
            b["mask"],
            frames=windows.codes.shape[2],
            temperature=sampling["temperature"],
            top_k=sampling["top_k"],
            guidance=sampling["guidance"],
            generator=generator,
        )
        out.append(codes.cpu().numpy())
    return np.concatenate(out)


def mel_error(tokenizer, generated: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per window: mean squared log-mel distance of generated to true codes over the true frames' variance
    (the variance over all given windows' frames, so every window shares one scale)."""
    g = np.stack([token_logmel(tokenizer, c) for c in generated])
    t = np.stack([token_logmel(tokenizer, c) for c in true])
    variance = float(np.mean((t - t.reshape(-1, t.shape[-1]).mean(axis=0)) ** 2))
    return ((g - t) ** 2).mean(axis=(1, 2)) / max(variance, 1e-12)


def train_generator(
    model: PoseToAudio,
    train: GenerationSet,
    val: GenerationSet,
    *,
    cfg: dict,
    tokenizer,
    seed: int,
    device: torch.device,
    lr_lambda,
    live=None,
) -> dict:
    """Fit ``model`` in place (the module docstring); returns :func:`fit`'s record."""
    mean, std = train.pose_stats()
    model.set_pose_stats(torch.as_tensor(mean), torch.as_tensor(std))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    val_free = val.subset(np.arange(min(cfg["val_windows"], len(val))))

    def batches(epoch: int):
        order = rng.permutation(len(train))
        if cfg["epoch_windows"]:
            order = order[: cfg["epoch_windows"]]
        for s in range(0, len(order), cfg["batch_size"]):
            yield train.tensors(order[s : s + cfg["batch_size"]], device)

    def loss(batch: dict, epoch: int) -> dict:
        ratio = sampling_ratio(cfg["scheduled_sampling"], epoch)
        out = model(batch["pose"], batch["mask"], batch["codes"], sampling_ratio=ratio, generator=generator)
        return {"ce": out["loss"]}

    def validate() -> dict:
        total, correct, count, loss_sum = 0, 0.0, 0, 0.0
        for s in range(0, len(val), cfg["batch_size"]):
            b = val.tensors(np.arange(s, min(s + cfg["batch_size"], len(val))), device)
            out = model(b["pose"], b["mask"], b["codes"])
            n = int((out["targets"] != -100).sum())
            loss_sum += float(out["loss"]) * n
            correct += float(out["accuracy"]) * n
            total += n
            count += len(b["pose"])
        codes = generate_codes(model, val_free, sampling=cfg["sampling"], seed=seed, device=device)
        return {
            "val_loss": loss_sum / max(total, 1),
            "val_accuracy": correct / max(total, 1),
            "val_free_accuracy": float(np.mean(codes == val_free.codes)),
            "val_free_mel_error": float(mel_error(tokenizer, codes, val_free.codes).mean()),
        }

    return fit(
        model,
        optimizer=optimizer,
        epochs=cfg["max_epochs"],
        batches=batches,
        loss=loss,
        validate=validate,
        monitor="val_free_mel_error",
        mode="min",
        patience=cfg["patience"],
        live=live,
        desc="generate",
        scheduler=scheduler,
    )
