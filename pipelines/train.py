"""Stage ``train_<model>``: fit a retrieval model on the training shards.

``python -m pipelines.train --params params.yaml --model {linear,clip,temporal}``

Reads ``shards/w<train.window_frames>_{train,val}.h5``, standardises inputs with training
statistics and fits the model (see :mod:`pipelines.models`). The learned models train with
AdamW on random aligned crops of ``train.crop_frames`` frames, stop early when the
validation InfoNCE loss has not improved for ``train.patience`` epochs, and keep the best
epoch. Training is seeded and deterministic on CPU; ``train.device: auto`` uses CUDA when
present. Curves go to ``models/<dataset>/<model>_live/`` through dvclive.

Output: ``models/<dataset>/<model>.pt`` — the state dict with the params that made it, the
input names and dimensions and the training statistics.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .common import InputError, atomic_file, run_stage
from .config import ParamsError, Paths
from .models import (AUDIO_INPUTS, MODEL_NAMES, MOTION_INPUTS, build_model, feature_stats, fit_ridge,
                     frame_features)
from .torch_data import ShardDataset

log = logging.getLogger(__name__)


def model_paths(params: dict, model: str) -> dict[str, Path]:
    """Where a model's checkpoint, training curves and evaluation outputs live."""
    p = Paths(params)
    return {"checkpoint": p.models / f"{model}.pt", "live": p.models / f"{model}_live",
            "metrics": p.results / "metrics" / f"{model}.json", "eval": p.results / "eval" / f"{model}.npz",
            "recall_plot": p.results / "plots" / f"recall_{model}.csv"}


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ParamsError("params.yaml: train.device: cuda requested but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def load_windows(path: Path) -> dict:
    """All windows of a shard as tensors: ``audio`` (N, T, Da), ``motion`` (N, T, Dm) and metadata."""
    if not path.exists():
        raise InputError(path, "shard not found; run the shards stage first")
    ds = ShardDataset(path, fields=AUDIO_INPUTS + MOTION_INPUTS)
    batch = ds.read_batch(range(len(ds)))
    meta = [ds.meta(i) for i in range(len(ds))]
    return {"audio": frame_features(batch, AUDIO_INPUTS), "motion": frame_features(batch, MOTION_INPUTS),
            "meta": meta}


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True, warn_only=True)


@torch.no_grad()
def embed(model: torch.nn.Module, audio: torch.Tensor, motion: torch.Tensor, *, device: torch.device,
          batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """l2-normalised embeddings (N, E) of every window, in eval mode, on the CPU."""
    model.eval()
    a, m = [], []
    for s in range(0, audio.shape[0], batch_size):
        a.append(model.embed_audio(audio[s:s + batch_size].to(device)).cpu())
        m.append(model.embed_motion(motion[s:s + batch_size].to(device)).cpu())
    return torch.cat(a), torch.cat(m)


@torch.no_grad()
def validation_loss(model, audio, motion, *, device, batch_size: int) -> float:
    model.eval()
    losses, weights = [], []
    for s in range(0, audio.shape[0], batch_size):
        a = model.embed_audio(audio[s:s + batch_size].to(device))
        m = model.embed_motion(motion[s:s + batch_size].to(device))
        if a.shape[0] > 1:
            losses.append(float(model.head.loss(a, m)))
            weights.append(a.shape[0])
    return float(np.average(losses, weights=weights))


def train_contrastive(model, train: dict, val: dict, *, cfg: dict, tcfg: dict, seed: int, device: torch.device,
                      live=None) -> dict:
    """AdamW + early stopping on validation loss. Returns the training record."""
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    gen = torch.Generator().manual_seed(seed)
    n, T = train["audio"].shape[:2]
    crop = min(tcfg["crop_frames"], T)
    bs = tcfg["batch_size"]
    best = {"val_loss": math.inf, "epoch": -1, "state": None}
    history = []
    bar = tqdm(range(tcfg["max_epochs"]), desc=f"train {type(model).__name__}", disable=None, file=sys.stderr)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for s in range(0, n - 1, bs):
            idx = order[s:s + bs]
            if idx.numel() < 2:
                continue
            off = int(torch.randint(0, T - crop + 1, (1,), generator=gen))
            a = train["audio"][idx, off:off + crop].to(device)
            m = train["motion"][idx, off:off + crop].to(device)
            loss = model.head.loss(model.embed_audio(a), model.embed_motion(m))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
        vloss = validation_loss(model, val["audio"], val["motion"], device=device, batch_size=bs)
        temp = float(1.0 / model.head.log_inv_temp.detach().exp())
        history.append({"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": vloss, "temperature": temp})
        if live is not None:
            live.log_metric("train_loss", total / max(count, 1))
            live.log_metric("val_loss", vloss)
            live.log_metric("temperature", temp)
            live.next_step()
        bar.set_postfix(train=f"{total / max(count, 1):.3f}", val=f"{vloss:.3f}")
        if vloss < best["val_loss"] - 1e-4:
            best = {"val_loss": vloss, "epoch": epoch,
                    "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        elif epoch - best["epoch"] >= tcfg["patience"]:
            log.info("early stop at epoch %d (best %d, val loss %.4f)", epoch, best["epoch"], best["val_loss"])
            break
    model.load_state_dict(best["state"])
    return {"best_epoch": best["epoch"], "best_val_loss": best["val_loss"], "epochs_run": len(history),
            "history": history}


def train_model(params: dict, model_name: str) -> Path:
    """Fit ``model_name`` and write its checkpoint; returns the checkpoint path."""
    tcfg = params["train"]
    paths = Paths(params)
    out = model_paths(params, model_name)
    seed_everything(params["seed"])
    W = tcfg["window_frames"]
    train = load_windows(paths.shard_file(W, "train"))
    val = load_windows(paths.shard_file(W, "val"))
    a_stats, m_stats = feature_stats(train["audio"]), feature_stats(train["motion"])
    cfg = params[model_name]
    dims = {"audio_dim": train["audio"].shape[-1], "motion_dim": train["motion"].shape[-1]}
    model = build_model(model_name, cfg, **dims, audio_stats=a_stats, motion_stats=m_stats)
    device = pick_device(tcfg["device"])
    if model_name == "linear":
        fit_ridge(model, train["audio"], train["motion"], alpha=cfg["alpha"])
        record = {"best_epoch": 0, "epochs_run": 1, "history": []}
    else:
        from dvclive import Live

        with Live(dir=str(out["live"]), save_dvc_exp=False, dvcyaml=False) as live:
            live.log_params({"model": model_name, **cfg, **tcfg})
            record = train_contrastive(model, train, val, cfg=cfg, tcfg=tcfg, seed=params["seed"], device=device,
                                       live=live)
    checkpoint = {"model": model_name, "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                  "params": {model_name: cfg, "train": tcfg, "seed": params["seed"], "dataset": params["dataset"]},
                  "dims": dims, "inputs": {"audio": AUDIO_INPUTS, "motion": MOTION_INPUTS},
                  "train_windows": int(train["audio"].shape[0]), "val_windows": int(val["audio"].shape[0]),
                  "record": record, "device": str(device)}
    with atomic_file(out["checkpoint"], "wb") as fh:
        torch.save(checkpoint, fh)
    log.info("%s: %d train / %d val windows of %d frames, best epoch %s -> %s", model_name,
             checkpoint["train_windows"], checkpoint["val_windows"], W, record["best_epoch"], out["checkpoint"])
    return out["checkpoint"]


def load_model(path: Path) -> tuple[torch.nn.Module, dict]:
    """Rebuild a model from its checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    name = ckpt["model"]
    dims = ckpt["dims"]
    zeros_a, zeros_m = torch.zeros(dims["audio_dim"]), torch.zeros(dims["motion_dim"])
    model = build_model(name, ckpt["params"][name], **dims, audio_stats=(zeros_a, zeros_a + 1),
                        motion_stats=(zeros_m, zeros_m + 1))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt


if __name__ == "__main__":
    raise SystemExit(run_stage(train_model, __doc__.splitlines()[0], models=MODEL_NAMES))
