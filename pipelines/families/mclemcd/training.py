"""How MCLEMCD trains and is scored: the windows of every split, one variant trained with the
two-phase schedule through :func:`pipelines.training.loop.fit`, and a variant scored under a
protocol (:func:`pipelines.evaluation.classification.protocol_folds`). Used by the stages
``mclemcd`` (the ablation grid) and ``mclemcd_seed<K>`` (the main variant's other seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...config import SPLITS, Paths
from ...data.torch_data import ShardDataset
from ...errors import InputError
from ...evaluation.classification import genre_accuracy, protocol_folds
from ...training.loop import fit
from ...training.runtime import seed_everything
from .model import MCLEMCD, loss_terms, predict
from .variants import Variant


def load_all_windows(params: dict, frames: int) -> tuple[dict, list[str]]:
    """Every split's ``frames``-frame windows (joints, log-mel, metadata) and the sorted genres."""
    paths = Paths(params)
    data = concat(
        [
            load_split(paths.shard_file(frames, s)) if paths.shard_file(frames, s).exists() else {"meta": []}
            for s in SPLITS
        ]
    )
    if not data["meta"]:
        raise InputError(paths.shards, f"no w{frames} shards")
    return data, sorted({m["genre"] for m in data["meta"]})


def load_split(path: Path) -> dict:
    """Joints (N, frames, J, 3), log-mel (N, frames, 96) and the window metadata of one shard."""
    if not path.exists():
        raise InputError(path, "shard not found; run the shards stage (is mclemcd.window_frames in `windows`?)")
    ds = ShardDataset(path, fields=("motion/joints", "audio/logmel"))
    batch = ds.read_batch(range(len(ds)))
    return {
        "joints": torch.as_tensor(np.asarray(batch["motion/joints"])),
        "mel": torch.as_tensor(np.asarray(batch["audio/logmel"])),
        "meta": [ds.meta(i) for i in range(len(ds))],
    }


def concat(parts: list[dict]) -> dict:
    parts = [p for p in parts if p["meta"]]
    return {
        "joints": torch.cat([p["joints"] for p in parts]),
        "mel": torch.cat([p["mel"] for p in parts]),
        "meta": [m for p in parts for m in p["meta"]],
    }


def subset(data: dict, idx: np.ndarray) -> dict:
    t = torch.as_tensor(idx, dtype=torch.long)
    return {"joints": data["joints"][t], "mel": data["mel"][t], "meta": [data["meta"][i] for i in idx]}


def train_variant(
    train: dict,
    *,
    variant: Variant,
    cfg: dict,
    layout: str,
    genres: list[str],
    seed: int,
    device: torch.device,
    amp: bool = False,
) -> tuple[MCLEMCD, list[dict]]:
    """Train one variant with the two-phase schedule through :func:`pipelines.training.loop.fit`;
    returns the model and per-epoch losses."""
    seed_everything(seed)
    mel = train["mel"]
    model = MCLEMCD(
        layout=layout,
        genres=genres,
        variant=variant,
        cfg=cfg,
        n_mels=mel.shape[2],
        frames=mel.shape[1],
        mel_mean=mel.mean(dim=(0, 1)),
        mel_std=mel.std(dim=(0, 1)),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    labels = torch.tensor([genres.index(m["genre"]) for m in train["meta"]])
    if len(labels) < 2:
        raise InputError(
            "mclemcd",
            f"{len(labels)} training windows for {variant.name}: nothing to train on "
            "(check mclemcd.protocol and the splits)",
        )
    weights = {"genre": 1.0, "music_recon": 1.0, "pair": cfg["pair_weight"], "motion_to_music": cfg["recon_weight"]}
    gen = torch.Generator().manual_seed(seed)
    n = len(labels)

    def batches(epoch: int):
        order = torch.randperm(n, generator=gen)
        while len(order) < cfg["epoch_windows"]:  # a small training set is cycled through, reshuffled each pass
            order = torch.cat([order, torch.randperm(n, generator=gen)])
        if cfg["epoch_windows"]:
            order = order[: cfg["epoch_windows"]]
        for b in order.split(cfg["batch_size"]):
            if len(b) >= 2:
                yield {
                    "joints": train["joints"][b].to(device),
                    "mel": train["mel"][b].to(device),
                    "labels": labels[b].to(device),
                }

    def loss(batch: dict, epoch: int) -> dict:
        terms = loss_terms(epoch, phase1_epochs=cfg["phase1_epochs"], collaborative=variant.collaborative)
        return model.losses(batch["joints"], batch["mel"], batch["labels"], terms)

    record = fit(
        model,
        optimizer=opt,
        epochs=cfg["phase1_epochs"] + cfg["phase2_epochs"],
        batches=batches,
        loss=loss,
        weights=weights,
        desc=f"mclemcd {variant.name}",
        amp=amp,
    )
    history = [
        {
            "epoch": h["epoch"],
            "phase": 2 if h["epoch"] >= cfg["phase1_epochs"] else 1,
            **{k: v for k, v in h.items() if k != "epoch"},
        }
        for h in record["history"]
    ]
    return model, history


def run_variant(
    data: dict,
    *,
    variant: Variant,
    cfg: dict,
    layout: str,
    genres: list[str],
    seed: int,
    device: torch.device,
    amp: bool = False,
) -> tuple[dict, list, MCLEMCD | None]:
    """Train and score one variant under the configured protocol: the metrics of the pooled test
    windows of every fold (with ``per_fold`` accuracies when there are several folds), the
    training histories and the model (only when there is a single fold)."""
    folds = protocol_folds(
        data["meta"],
        protocol=cfg["protocol"],
        seed=cfg["protocol_seed"],
        leaky_test_fraction=cfg["leaky_test_fraction"],
        folds=cfg["folds"],
    )
    probs, metas, train_genres, histories, model, per_fold = [], [], [], [], None, []
    for train_idx, test_idx in folds:
        train = subset(data, train_idx)
        model, hist = train_variant(
            train, variant=variant, cfg=cfg, layout=layout, genres=genres, seed=seed, device=device, amp=amp
        )
        test = subset(data, test_idx)
        probs.append(predict(model, test, device=device))
        metas += test["meta"]
        train_genres += [m["genre"] for m in train["meta"]]
        histories.append(hist)
        if len(folds) > 1:
            fold = genre_accuracy(
                probs[-1],
                test["meta"],
                genres=genres,
                segment_frames=cfg["segment_frames"],
                train_genres=[m["genre"] for m in train["meta"]],
            )
            per_fold.append(
                {
                    k: fold[k]
                    for k in (
                        "window_accuracy",
                        "balanced_accuracy_window",
                        "piece_accuracy",
                        "balanced_accuracy_piece",
                        "majority_class_window",
                        "windows",
                        "pieces",
                    )
                }
            )
    metrics = genre_accuracy(
        np.concatenate(probs), metas, genres=genres, segment_frames=cfg["segment_frames"], train_genres=train_genres
    )
    if per_fold:
        metrics["per_fold"] = per_fold
    return metrics, histories, (model if len(folds) == 1 else None)
