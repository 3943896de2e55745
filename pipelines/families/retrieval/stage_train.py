"""Stage ``train_<model>_seed<K>``: fit one training run of a retrieval model on the training shards.

``python -m pipelines.families.retrieval.stage_train --params params.yaml --model {linear,clip,temporal} --seed-index K [--fold F]``

Run K uses seed ``seed + K`` (run 0 is the main seed); the DAG trains ``evaluate.seeds`` runs
of each learned model as separate jobs, and one of ``linear`` (closed form, no randomness).
Under ``evaluate.protocol: kfold`` it trains one run per fold instead (stage
``train_<model>_fold<F>``), on the windows :func:`pipelines.data.protocols.fold_roles` gives.
Reads ``shards/w<train.window_frames>_{train,val}.h5``, standardises inputs with training
statistics and fits the model (see :mod:`pipelines.models.retrieval`).

The learned models train through :func:`pipelines.training.loop.fit`: AdamW with the
``train.lr_schedule`` on crops of ``train.crop_frames`` frames augmented by
:mod:`pipelines.training.augment` (``train.augment``: per-window time shifts of both streams,
left/right mirroring, turns about the vertical axis), with symmetric InfoNCE whose negatives
leave out pairs with the very same music (``train.negatives``: several dancers share a piece,
so such "negatives" would be true matches). After every epoch the validation windows are
scored; the epoch with the best ``train.select_by`` (default ``val_piece_map``: music → motion
piece mAP) is kept, and training stops after ``train.patience`` epochs without a better one.
Training is seeded and deterministic on CPU; the top-level ``device: auto`` uses CUDA when
present. Curves (loss, validation loss and piece mAP, learning rate, temperature) go to
``models/<dataset>/<model>/seed<K>_live/`` through dvclive.

Output: ``models/<dataset>/<model>/seed<K>.pt`` (:mod:`pipelines.training.checkpoint`
format): the state dict with the params that made it, the input names and dimensions and the
training record.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ...cli import run_stage
from ...config import Paths, run_name, run_seed
from ...data.skeleton import Skeleton
from ...datasets import skeleton_layout
from ...errors import InputError
from ...evaluation.retrieval import relevance, retrieval_metrics
from ...training.augment import aligned_crops, mirror, random_angles, rotate_about_vertical
from ...training.checkpoint import save_checkpoint
from ...training.loop import fit, lr_lambda
from ...training.losses import not_negative_mask
from ...training.runtime import configure_device, seed_everything, use_amp
from .model import AUDIO_INPUTS, MOTION_INPUTS, build_model, feature_stats, fit_ridge, run_windows
from .names import RETRIEVAL_MODELS

log = logging.getLogger(__name__)


@torch.no_grad()
def validation_scores(model, val: dict, *, device: torch.device, batch_size: int, rule: str) -> dict:
    """Validation InfoNCE (batches in order, the same negatives rule as training) and music → motion
    piece mAP over all validation windows (the model selection metric ``val_piece_map``)."""
    losses, weights = [], []
    a_all, m_all = [], []
    for s in range(0, val["audio"].shape[0], batch_size):
        a = model.embed_audio(val["audio"][s : s + batch_size].to(device))
        m = model.embed_motion(val["motion"][s : s + batch_size].to(device))
        a_all.append(a.cpu())
        m_all.append(m.cpu())
        if a.shape[0] > 1:
            mask = not_negative_mask(
                val["piece_id"][s : s + batch_size], val["music_start"][s : s + batch_size], rule=rule
            )
            losses.append(float(model.head.loss(a, m, not_negative=mask)))
            weights.append(a.shape[0])
    sim = (torch.cat(a_all) @ torch.cat(m_all).t()).numpy()
    return {
        "val_loss": float(np.average(losses, weights=weights)),
        "val_piece_map": retrieval_metrics(sim, val["piece_relevance"], ks=(1,))["mAP"],
    }


def _piece_ids(data: dict, pieces: dict) -> None:
    data["piece_id"] = torch.tensor([pieces.setdefault(m["piece"], len(pieces)) for m in data["meta"]])
    data["music_start"] = torch.tensor([int(m["audio_start_frame"]) for m in data["meta"]])


def train_contrastive(
    model,
    train: dict,
    val: dict,
    *,
    cfg: dict,
    tcfg: dict,
    seed: int,
    device: torch.device,
    skeleton: Skeleton,
    live=None,
    amp: bool = False,
) -> dict:
    """AdamW with the learning-rate schedule on augmented aligned crops; the epoch with the best
    ``train.select_by`` on the validation windows is kept. Returns the training record."""
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(tcfg))
    gen = torch.Generator().manual_seed(seed)
    n, T = train["audio"].shape[:2]
    crop = min(tcfg["crop_frames"], T)
    bs, aug, rule = tcfg["batch_size"], tcfg["augment"], tcfg["negatives"]
    pieces: dict = {}
    _piece_ids(train, pieces)
    _piece_ids(val, pieces)
    val["piece_relevance"] = relevance(val["meta"], val["meta"], key="piece")  # fixed: built once, not per epoch
    mirror_index = torch.as_tensor(skeleton.mirror_index)
    J = skeleton.num_joints

    def batches(epoch: int):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n - 1, bs):
            idx = order[s : s + bs]
            if idx.numel() < 2:
                continue
            a, m, off = aligned_crops(
                train["audio"][idx], train["motion"][idx], crop=crop, generator=gen, per_window=aug["time_shift"]
            )
            m = m.view(*m.shape[:2], -1, J, 3)  # (B, crop, streams, J, 3)
            if aug["mirror_prob"] > 0:
                which = torch.rand(len(idx), generator=gen) < aug["mirror_prob"]
                m = mirror(m, mirror_index=mirror_index, which=which)
            if aug["rotate_deg"] > 0:
                m = rotate_about_vertical(
                    m,
                    angles=random_angles(len(idx), max_deg=aug["rotate_deg"], generator=gen),
                    up_axis=skeleton.up_axis,
                )
            yield {
                "audio": a.to(device),
                "motion": m.flatten(2).to(device),
                "piece_id": train["piece_id"][idx],
                "music_start": train["music_start"][idx] + off,
            }

    def loss(batch: dict, epoch: int) -> dict:
        mask = not_negative_mask(batch["piece_id"], batch["music_start"], rule=rule)
        return {
            "infonce": model.head.loss(
                model.embed_audio(batch["audio"]), model.embed_motion(batch["motion"]), not_negative=mask
            )
        }

    def validate() -> dict:
        return {
            **validation_scores(model, val, device=device, batch_size=bs, rule=rule),
            "temperature": model.head.temperature,
        }

    return fit(
        model,
        optimizer=opt,
        scheduler=sched,
        epochs=tcfg["max_epochs"],
        batches=batches,
        loss=loss,
        validate=validate,
        monitor=tcfg["select_by"],
        mode="min" if tcfg["select_by"] == "val_loss" else "max",
        patience=tcfg["patience"],
        live=live,
        desc=f"train {type(model).__name__}",
        amp=amp,
    )


def train_model(params: dict, model_name: str, *, seed_index: int = 0, fold: int | None = None):
    """Fit one run of ``model_name`` — seed ``seed + seed_index``, on fold ``fold``'s training
    windows under ``evaluate.protocol: kfold`` — and write its checkpoint; returns its path."""
    tcfg = params["train"]
    paths = Paths(params)
    out = paths.model_files(model_name, run_name(seed_index=seed_index, fold=fold))
    seed = run_seed(params, seed_index)
    seed_everything(seed)
    W = tcfg["window_frames"]
    windows = run_windows(params, fold=fold, roles=("train", "val"))
    train, val = windows["train"], windows["val"]
    if model_name != "linear" and val["audio"].shape[0] < 2:
        raise InputError(
            paths.shard_file(W, "val") if fold is None else f"fold {fold} of evaluate.folds",
            f"{val['audio'].shape[0]} validation window(s) of {W} frames: "
            "early stopping needs at least 2 (check the splits)",
        )
    a_stats, m_stats = feature_stats(train["audio"]), feature_stats(train["motion"])
    cfg = params[model_name]
    dims = {"audio_dim": train["audio"].shape[-1], "motion_dim": train["motion"].shape[-1]}
    model = build_model(model_name, cfg, **dims, audio_stats=a_stats, motion_stats=m_stats)
    device = configure_device(params)
    if model_name == "linear":
        fit_ridge(model, train["audio"], train["motion"], alpha=cfg["alpha"])
        record = {"best_epoch": 0, "epochs_run": 1, "history": []}
    else:
        from dvclive import Live

        with Live(dir=str(out["live"]), save_dvc_exp=False, dvcyaml=False) as live:
            live.log_params({"model": model_name, "seed": seed, **cfg, **tcfg})
            record = train_contrastive(
                model,
                train,
                val,
                cfg=cfg,
                tcfg=tcfg,
                seed=seed,
                device=device,
                skeleton=Skeleton(skeleton_layout(params)),
                live=live,
                amp=use_amp(params, device),
            )
    save_checkpoint(
        out["checkpoint"],
        state_dict=model.state_dict(),
        model=model_name,
        params={model_name: cfg, "train": tcfg, "seed": seed, "dataset": params["dataset"]},
        seed_index=seed_index,
        fold=fold,
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
    raise SystemExit(run_stage(train_model, __doc__.splitlines()[0], models=RETRIEVAL_MODELS, seeded=True, folded=True))
