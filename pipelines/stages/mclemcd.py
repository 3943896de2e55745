"""Stage ``mclemcd``: music genre from dance with collaborative learning (MCLEMCD).

``python -m pipelines.stages.mclemcd --params params.yaml``

Trains every variant of the ``mclemcd.ablation`` grid (networks in
:mod:`pipelines.models.mclemcd`; ``fc`` without collaborative learning equals ``plain`` and is
not trained twice) through :func:`pipelines.training.loop.fit`, with the two-phase schedule:
phase one (``phase1_epochs``) trains the motion encoder and the music autoencoder
independently, phase two (``phase2_epochs``) adds the collaborative losses; without
collaborative learning phase two keeps the phase-one losses, so every variant trains for the
same number of epochs. Sizes: ``mclemcd.size: small`` (narrow networks, ``epoch_windows``
windows drawn per epoch: the whole grid trains in minutes on 2 CPU cores) or ``paper`` (the
paper's 64→128→256 channels, 256-d codes and 4096-wide mapping; for GPU nodes).

Every variant is scored under ``mclemcd.protocol``
(:func:`pipelines.evaluation.classification.protocol_folds`): ``splits`` (the dataset's own
train/test split: crossmodal for AIST++, by dance for MusicToDance), ``leave_one_piece_out``
(every piece once as the test set), or ``leaky_windows`` (windows drawn at random into
train/test regardless of piece: the paper's segment-level MusicToDance split, for comparison
only). Accuracy is reported per window, per segment (majority vote over the windows of each
``segment_frames`` span of a sequence) and per piece (majority vote over all of a piece's test
windows), beside the majority-class rate, with per-genre confusion matrices
(:func:`pipelines.evaluation.classification.genre_accuracy`).

Outputs: ``models/<dataset>/mclemcd/<variant>.pt`` (protocols ``splits`` and
``leaky_windows``; :mod:`pipelines.training.checkpoint` format),
``results/<dataset>/mclemcd/metrics.json`` (a DVC metric) and
``results/<dataset>/mclemcd/tables/`` (``ablation.md``, ``confusion_<variant>.csv``,
``history.json``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..cli import run_stage
from ..config import SKELETON_LAYOUT, SPLITS, Paths
from ..data.torch_data import ShardDataset
from ..errors import InputError
from ..evaluation.classification import genre_accuracy, protocol_folds
from ..files import atomic_dir, atomic_file
from ..models.mclemcd import MCLEMCD, loss_terms, predict, resolve_config
from ..models.registry import Variant, ablation_variants
from ..reports.ablation import ablation_markdown
from ..training.checkpoint import save_checkpoint
from ..training.loop import fit
from ..training.runtime import pick_device, seed_everything

log = logging.getLogger(__name__)


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
    train: dict, *, variant: Variant, cfg: dict, layout: str, genres: list[str], seed: int, device: torch.device
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
    data: dict, *, variant: Variant, cfg: dict, layout: str, genres: list[str], seed: int, device: torch.device
) -> tuple[dict, list, MCLEMCD | None]:
    """Train and score one variant under the configured protocol."""
    folds = protocol_folds(
        data["meta"], protocol=cfg["protocol"], seed=seed, leaky_test_fraction=cfg["leaky_test_fraction"]
    )
    probs, metas, train_genres, histories, model = [], [], [], [], None
    for train_idx, test_idx in folds:
        train = subset(data, train_idx)
        model, hist = train_variant(
            train, variant=variant, cfg=cfg, layout=layout, genres=genres, seed=seed, device=device
        )
        test = subset(data, test_idx)
        probs.append(predict(model, test, device=device))
        metas += test["meta"]
        train_genres += [m["genre"] for m in train["meta"]]
        histories.append(hist)
    metrics = genre_accuracy(
        np.concatenate(probs), metas, genres=genres, segment_frames=cfg["segment_frames"], train_genres=train_genres
    )
    return metrics, histories, (model if len(folds) == 1 else None)


def main(params: dict) -> None:
    cfg = resolve_config(params)
    paths = Paths(params)
    ds = params["dataset"]
    frames = cfg["window_frames"]
    data = concat(
        [
            load_split(paths.shard_file(frames, s)) if paths.shard_file(frames, s).exists() else {"meta": []}
            for s in SPLITS
        ]
    )
    if not data["meta"]:
        raise InputError(paths.shards, f"no w{frames} shards")
    genres = sorted({m["genre"] for m in data["meta"]})
    device = pick_device(params["device"])
    variants = ablation_variants(cfg["ablation"])
    results, histories, timing = {}, {}, {}
    model_dir, table_dir = paths.models / "mclemcd", paths.results / "mclemcd" / "tables"
    with atomic_dir(model_dir) as mtmp, atomic_dir(table_dir) as ttmp:
        for v in variants:
            t0 = time.perf_counter()
            metrics, hist, model = run_variant(
                data, variant=v, cfg=cfg, layout=SKELETON_LAYOUT[ds], genres=genres, seed=params["seed"], device=device
            )
            timing[v.name] = round(time.perf_counter() - t0, 1)
            results[v.name] = {**asdict(v), **metrics}
            histories[v.name] = hist
            if model is not None:
                save_checkpoint(
                    mtmp / f"{v.name}.pt",
                    state_dict=model.state_dict(),
                    variant=asdict(v),
                    genres=genres,
                    config=cfg,
                    layout=SKELETON_LAYOUT[ds],
                    frames=frames,
                    n_mels=int(data["mel"].shape[2]),
                )
            log.info(
                "%s: window %.1f%%, segment %.1f%%, piece %.1f%% (%d/%d) in %.0f s",
                v.name,
                100 * metrics["window_accuracy"],
                100 * metrics["segment_accuracy"],
                100 * metrics["piece_accuracy"],
                metrics["pieces_correct"],
                metrics["pieces"],
                timing[v.name],
            )
            with open(ttmp / f"confusion_{v.name}.csv", "w") as fh:
                fh.write("truth\\predicted," + ",".join(genres) + "\n")
                for g, row in zip(genres, metrics["confusion"]):
                    fh.write(g + "," + ",".join(map(str, row)) + "\n")
        summary = {
            "dataset": ds,
            "protocol": cfg["protocol"],
            "size": cfg["size"],
            "window_frames": frames,
            "segment_frames": cfg["segment_frames"],
            "genres": genres,
            "seconds": timing,
            "variants": results,
        }
        (ttmp / "ablation.md").write_text(ablation_markdown(summary))
        (ttmp / "history.json").write_text(json.dumps(histories, indent=1) + "\n")
    with atomic_file(paths.results / "mclemcd" / "metrics.json", "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
