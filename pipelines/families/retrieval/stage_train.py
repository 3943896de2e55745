"""Stage ``train_<model>_seed<K>``: fit one training run of a retrieval model on the training shards.

``python -m pipelines.families.retrieval.stage_train --params params.yaml --model {linear,clip,temporal} --seed-index K [--fold F]``

Run K uses seed ``seed + K`` (run 0 is the main seed); the DAG trains ``evaluate.seeds`` runs
of each learned model as separate jobs, and one of ``linear`` (closed form, no randomness).
Under ``evaluate.protocol: kfold`` it trains one run per fold instead (stage
``train_<model>_fold<F>``), on the windows :func:`pipelines.data.protocols.fold_roles` gives.
Reads ``shards/w<train.window_frames>_{train,val}.h5``, standardises inputs with training
statistics and fits the model (see :mod:`pipelines.families.retrieval.model`; the contrastive
training in :mod:`pipelines.families.retrieval.training`).

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

from ...cli import run_stage
from ...config import Paths, run_name, run_seed
from ...data.skeleton import Skeleton
from ...datasets import skeleton_layout
from ...errors import InputError
from ...training.checkpoint import save_checkpoint
from ...training.runtime import configure_device, seed_everything, use_amp
from .model import AUDIO_INPUTS, MOTION_INPUTS, build_model, feature_stats, fit_ridge, run_windows
from .names import RETRIEVAL_MODELS
from .training import train_contrastive

log = logging.getLogger(__name__)


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
