"""Stage ``train_<model>``: fit a retrieval model on the training shards.

``python -m pipelines.stages.train --params params.yaml --model {linear,clip,temporal}``

Reads ``shards/w<train.window_frames>_{train,val}.h5``, standardises inputs with training
statistics and fits the model (see :mod:`pipelines.models.retrieval`). The learned models
train through :func:`pipelines.training.loop.fit` with AdamW on random aligned crops of
``train.crop_frames`` frames, stop early when the validation InfoNCE loss has not improved
for ``train.patience`` epochs, and keep the best epoch. Training is seeded and deterministic
on CPU; the top-level ``device: auto`` uses CUDA when present. Curves go to
``models/<dataset>/<model>_live/`` through dvclive.

Output: ``models/<dataset>/<model>.pt`` (:mod:`pipelines.training.checkpoint` format) — the
state dict with the params that made it, the input names and dimensions and the training record.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..cli import run_stage
from ..config import Paths
from ..errors import InputError
from ..models.registry import RETRIEVAL_MODELS
from ..models.retrieval import AUDIO_INPUTS, MOTION_INPUTS, build_model, feature_stats, fit_ridge, load_windows
from ..training.checkpoint import save_checkpoint
from ..training.loop import fit
from ..training.runtime import pick_device, seed_everything

log = logging.getLogger(__name__)


def validation_loss(
    model, audio: torch.Tensor, motion: torch.Tensor, *, device: torch.device, batch_size: int
) -> float:
    """Mean InfoNCE over validation batches (weighted by batch size; batches of one are skipped)."""
    losses, weights = [], []
    for s in range(0, audio.shape[0], batch_size):
        a = model.embed_audio(audio[s : s + batch_size].to(device))
        m = model.embed_motion(motion[s : s + batch_size].to(device))
        if a.shape[0] > 1:
            losses.append(float(model.head.loss(a, m)))
            weights.append(a.shape[0])
    return float(np.average(losses, weights=weights))


def train_contrastive(
    model, train: dict, val: dict, *, cfg: dict, tcfg: dict, seed: int, device: torch.device, live=None
) -> dict:
    """AdamW on random aligned crops, early stopping on the validation loss. Returns the training record."""
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    gen = torch.Generator().manual_seed(seed)
    n, T = train["audio"].shape[:2]
    crop = min(tcfg["crop_frames"], T)
    bs = tcfg["batch_size"]

    def batches(epoch: int):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n - 1, bs):
            idx = order[s : s + bs]
            if idx.numel() < 2:
                continue
            off = int(torch.randint(0, T - crop + 1, (1,), generator=gen))
            yield {
                "audio": train["audio"][idx, off : off + crop].to(device),
                "motion": train["motion"][idx, off : off + crop].to(device),
            }

    def loss(batch: dict, epoch: int) -> dict:
        return {"infonce": model.head.loss(model.embed_audio(batch["audio"]), model.embed_motion(batch["motion"]))}

    def validate() -> dict:
        return {
            "val_loss": validation_loss(model, val["audio"], val["motion"], device=device, batch_size=bs),
            "temperature": model.head.temperature,
        }

    return fit(
        model,
        optimizer=opt,
        epochs=tcfg["max_epochs"],
        batches=batches,
        loss=loss,
        validate=validate,
        monitor="val_loss",
        patience=tcfg["patience"],
        live=live,
        desc=f"train {type(model).__name__}",
    )


def train_model(params: dict, model_name: str):
    """Fit ``model_name`` and write its checkpoint; returns the checkpoint path."""
    tcfg = params["train"]
    paths = Paths(params)
    out = paths.model_files(model_name)
    seed_everything(params["seed"])
    W = tcfg["window_frames"]
    train = load_windows(paths.shard_file(W, "train"))
    val = load_windows(paths.shard_file(W, "val"))
    if model_name != "linear" and val["audio"].shape[0] < 2:
        raise InputError(
            paths.shard_file(W, "val"),
            f"{val['audio'].shape[0]} validation window(s) of {W} frames: "
            "early stopping needs at least 2 (check the splits)",
        )
    a_stats, m_stats = feature_stats(train["audio"]), feature_stats(train["motion"])
    cfg = params[model_name]
    dims = {"audio_dim": train["audio"].shape[-1], "motion_dim": train["motion"].shape[-1]}
    model = build_model(model_name, cfg, **dims, audio_stats=a_stats, motion_stats=m_stats)
    device = pick_device(params["device"])
    if model_name == "linear":
        fit_ridge(model, train["audio"], train["motion"], alpha=cfg["alpha"])
        record = {"best_epoch": 0, "epochs_run": 1, "history": []}
    else:
        from dvclive import Live

        with Live(dir=str(out["live"]), save_dvc_exp=False, dvcyaml=False) as live:
            live.log_params({"model": model_name, **cfg, **tcfg})
            record = train_contrastive(
                model, train, val, cfg=cfg, tcfg=tcfg, seed=params["seed"], device=device, live=live
            )
    save_checkpoint(
        out["checkpoint"],
        state_dict=model.state_dict(),
        model=model_name,
        params={model_name: cfg, "train": tcfg, "seed": params["seed"], "dataset": params["dataset"]},
        dims=dims,
        inputs={"audio": list(AUDIO_INPUTS), "motion": list(MOTION_INPUTS)},
        train_windows=int(train["audio"].shape[0]),
        val_windows=int(val["audio"].shape[0]),
        record=record,
        device=str(device),
    )
    log.info(
        "%s: %d train / %d val windows of %d frames, best epoch %s -> %s",
        model_name,
        train["audio"].shape[0],
        val["audio"].shape[0],
        W,
        record["best_epoch"],
        out["checkpoint"],
    )
    return out["checkpoint"]


if __name__ == "__main__":
    raise SystemExit(run_stage(train_model, __doc__.splitlines()[0], models=RETRIEVAL_MODELS))
