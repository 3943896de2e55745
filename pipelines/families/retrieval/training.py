"""Training of the contrastive retrieval models (``clip``, ``temporal``) through the one loop.

:func:`train_contrastive` runs :func:`pipelines.training.loop.fit`: AdamW with the
``train.lr_schedule`` on crops of ``train.crop_frames`` frames augmented by
:mod:`pipelines.training.augment`, symmetric InfoNCE whose negatives leave out pairs with the
very same music (``train.negatives``), validation scored after every epoch
(:func:`validation_scores`), the epoch with the best ``train.select_by`` kept.
"""

from __future__ import annotations

import numpy as np
import torch

from ...data.skeleton import Skeleton
from ...evaluation.retrieval import relevance, retrieval_metrics
from ...training.augment import aligned_crops, mirror, random_angles, rotate_about_vertical
from ...training.loop import fit, lr_lambda
from ...training.losses import not_negative_mask


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
