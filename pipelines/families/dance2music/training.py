"""Dance-to-music training run (the model is :mod:`pipelines.families.dance2music.model`; the windows
:class:`pipelines.families.dance2music.data.GenerationSet`).

Through the one training loop (:func:`pipelines.training.loop.fit`):

- **Loss**: ``ce``, cross-entropy of the delayed token targets given the pose, teacher-forced
  with scheduled sampling: a share of the decoder inputs, :func:`sampling_ratio` of the epoch
  (``dance2music.scheduled_sampling``: ``start`` at epoch 0, linear to ``end`` at ``ramp_epochs``,
  then flat), is the model's own greedy prediction instead of the true token.
- **Validation by free-running generation**: after every epoch the first ``val_windows``
  validation windows are generated from BOS with the configured sampling (``dance2music.sampling``,
  a fixed seed, so every epoch draws alike) and scored by ``val_free_mel_error``, the mean
  squared distance between the log-mel the generated codes stand for and that of the true codes
  (:func:`pipelines.families.dance2music.tokenizer.token_logmel`), over the true frames' variance (0 =
  the tokenizer's own rendering of the true music, 1 = no better than its mean frame), and by
  ``val_free_timbre_error`` (:func:`timbre_error`: the same for the window's mean spectrum). The
  kept checkpoint is the epoch with the lowest of the one ``dance2music.select_by`` names (never the
  training loss: ``timbre_error`` by default, since sampled music that is right but off by a few
  frames scores about as badly on the frame-wise error as any other); teacher-forced
  validation loss and accuracy (on the first ``4 × val_windows`` windows) and the free-running
  token accuracy are logged beside them.
- **Perceptual loss** (optional, ``dance2music.perceptual.weight`` > 0, the offline tokenizer only):
  ``perceptual``, the mean squared distance between the log-mel of the predicted codes and that of
  the true codes, over the training frames' variance (:func:`perceptual_mel_loss`). The predicted
  code of each codebook and frame is a straight-through Gumbel-softmax sample (temperature
  ``perceptual.tau``): one-hot forward, the softmax's gradient backward, so the distance reaches
  the logits; the log-mel is the sum of the chosen centroids, as the tokenizer renders it.
- An epoch is ``epoch_windows`` training windows drawn afresh (0: all of them); early stopping
  after ``patience`` epochs without improvement; AdamW with the ``lr_schedule``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...config import ParamsError
from ...training.loop import fit
from .data import GenerationSet
from .model import PoseToAudio
from .tokenizer import MelKMeansTokenizer, token_logmel


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


def code_logmels(tokenizer, codes: np.ndarray) -> np.ndarray:
    """Log-mel frames (N, T, n_mels) that each window's codes (N, K, T) stand for."""
    return np.stack([token_logmel(tokenizer, c) for c in codes])


def mel_error(generated: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per window: mean squared distance of generated to true log-mel frames (N, T, n_mels, from
    :func:`code_logmels`) over the true frames' variance (over all given windows' frames, so every
    window shares one scale)."""
    variance = float(np.mean((true - true.reshape(-1, true.shape[-1]).mean(axis=0)) ** 2))
    return ((generated - true) ** 2).mean(axis=(1, 2)) / max(variance, 1e-12)


def perceptual_mel_loss(
    logits: torch.Tensor, codes: torch.Tensor, centroids: torch.Tensor, *, tau: float, scale: float
) -> torch.Tensor:
    """Log-mel distance of straight-through Gumbel-softmax codes to the true codes (module docstring).

    ``logits`` (B, K, S, V) of the delayed steps (code t of codebook k at step t + k), ``codes``
    (B, K, T), ``centroids`` (K, C, n_mels); ``scale`` divides the mean squared distance.
    """
    K, C = centroids.shape[:2]
    T = codes.shape[2]
    predicted, true = 0.0, 0.0
    for k in range(K):
        soft = F.gumbel_softmax(logits[:, k, k : k + T, :C].float(), tau=tau, hard=True)  # (B, T, C)
        predicted = predicted + soft @ centroids[k]
        true = true + centroids[k][codes[:, k]]
    return ((predicted - true) ** 2).mean() / scale


def timbre_error(generated: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per window: squared distance of the generated mean log-mel spectrum (over the window's frames)
    to the true one, over the variance of the true windows' mean spectra: how far the sound's colour
    is, whatever the timing (0: the true colour; about 2: another window's). Inputs as :func:`mel_error`."""
    g, t = generated.mean(axis=1), true.mean(axis=1)
    variance = float(np.mean((t - t.mean(axis=0)) ** 2))
    return ((g - t) ** 2).mean(axis=1) / max(variance, 1e-12)


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
    amp: bool = False,
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
    val_tf = val.subset(np.arange(min(4 * cfg["val_windows"], len(val))))
    val_mels = code_logmels(tokenizer, val_free.codes)  # the true side of the free-running scores, once
    weight = cfg["perceptual"]["weight"]
    if weight > 0 and not isinstance(tokenizer, MelKMeansTokenizer):
        raise ParamsError("params.yaml: dance2music.perceptual.weight > 0 needs dance2music.tokenizer: mel_kmeans")
    if weight > 0:
        centroids = torch.as_tensor(tokenizer.centroids, dtype=torch.float32, device=device)
        frames = code_logmels(tokenizer, train.codes[:256])
        scale = float(np.mean((frames - frames.reshape(-1, frames.shape[-1]).mean(axis=0)) ** 2))

    def batches(epoch: int):
        order = rng.permutation(len(train))
        if cfg["epoch_windows"]:
            order = order[: cfg["epoch_windows"]]
        for s in range(0, len(order), cfg["batch_size"]):
            yield train.tensors(order[s : s + cfg["batch_size"]], device)

    def loss(batch: dict, epoch: int) -> dict:
        ratio = sampling_ratio(cfg["scheduled_sampling"], epoch)
        out = model(batch["pose"], batch["mask"], batch["codes"], sampling_ratio=ratio, generator=generator)
        terms = {"ce": out["loss"]}
        if weight > 0:
            terms["perceptual"] = perceptual_mel_loss(
                out["logits"], batch["codes"], centroids, tau=cfg["perceptual"]["tau"], scale=scale
            )
        return terms

    def validate() -> dict:
        total, correct, loss_sum = 0, 0.0, 0.0
        for s in range(0, len(val_tf), cfg["batch_size"]):
            b = val_tf.tensors(np.arange(s, min(s + cfg["batch_size"], len(val_tf))), device)
            out = model(b["pose"], b["mask"], b["codes"])
            n = int((out["targets"] != -100).sum())
            loss_sum += float(out["loss"]) * n
            correct += float(out["accuracy"]) * n
            total += n
        codes = generate_codes(model, val_free, sampling=cfg["sampling"], seed=seed, device=device)
        mels = code_logmels(tokenizer, codes)
        return {
            "val_loss": loss_sum / max(total, 1),
            "val_accuracy": correct / max(total, 1),
            "val_free_accuracy": float(np.mean(codes == val_free.codes)),
            "val_free_mel_error": float(mel_error(mels, val_mels).mean()),
            "val_free_timbre_error": float(timbre_error(mels, val_mels).mean()),
        }

    return fit(
        model,
        optimizer=optimizer,
        epochs=cfg["max_epochs"],
        batches=batches,
        loss=loss,
        weights={"ce": 1.0, "perceptual": weight},
        validate=validate,
        monitor=f"val_free_{cfg['select_by']}",
        mode="min",
        patience=cfg["patience"],
        live=live,
        desc="dance2music",
        scheduler=scheduler,
        amp=amp,
    )
