"""Stage ``train_motionbeat_<run>``: fit one training run of MotionBeat (or one of its ablations).

``python -m pipelines.families.motionbeat.stage_train --params params.yaml --seed-index K [--fold F] [--variant V]``

``--variant V`` trains variant ``V`` of ``motionbeat.variants`` (an ablation: the params with its
overrides; model ``motionbeat_<V>``).
The windows are the retrieval models' (``shards/w<train.window_frames>_{train,val}.h5``, or the
fold's under ``evaluate.protocol: kfold``), as beat-synchronous tokens
(:mod:`pipelines.features.beat_windows`), standardised with the training tokens' statistics. The
losses, negatives and augmentation are described in :mod:`pipelines.families.motionbeat.training`; the
model in :mod:`pipelines.families.motionbeat.model`. Seeded and deterministic on the CPU; the top-level
``device: auto`` uses CUDA when present. Curves go to ``models/<dataset>/<model>/seed<K>_live/``
(dvclive).

Output: ``models/<dataset>/<model>/seed<K>.pt`` (:mod:`pipelines.training.checkpoint` format):
the state dict, the params that made it (the variant's), token dimensions, the beat source and
the training record.
"""

from __future__ import annotations

import logging

from ...cli import run_stage
from ...config import Paths, run_name, run_seed
from ...data.skeleton import Skeleton
from ...datasets import skeleton_layout
from ...errors import InputError
from ...family import model_name as family_model_name
from ...family import resolve_variant
from ...features.beat_windows import role_metas, token_set
from ...training.checkpoint import save_checkpoint
from ...training.loop import lr_lambda
from ...training.runtime import configure_device, seed_everything, use_amp
from ..retrieval.model import feature_stats
from .model import build_motionbeat
from .training import motionbeat_config, train_motionbeat

log = logging.getLogger(__name__)


def train(params: dict, *, seed_index: int = 0, fold: int | None = None, variant: str = "main"):
    """Fit one run of a MotionBeat variant and write its checkpoint; returns its path."""
    params = resolve_variant(params, "motionbeat", variant)
    model_name = family_model_name("motionbeat", variant)
    cfg, tcfg = motionbeat_config(params), params["train"]
    paths = Paths(params)
    out = paths.model_files(model_name, run_name(seed_index=seed_index, fold=fold))
    seed = run_seed(params, seed_index)
    seed_everything(seed)
    metas = role_metas(params, fold=fold, roles=("train", "val"))
    if len(metas["val"]) < 2:
        raise InputError(
            paths.shard_file(tcfg["window_frames"], "val"),
            f"{len(metas['val'])} validation window(s): early stopping needs at least 2",
        )
    train_tok, val_tok = token_set(params, metas["train"]), token_set(params, metas["val"])
    dims = {"audio_dim": train_tok.tokens["audio"].shape[1], "motion_dim": train_tok.tokens["motion"].shape[1]}
    model = build_motionbeat(
        cfg,
        **dims,
        audio_stats=feature_stats(train_tok.tokens["audio"]),
        motion_stats=feature_stats(train_tok.tokens["motion"]),
    )
    device = configure_device(params)
    from dvclive import Live

    with Live(dir=str(out["live"]), save_dvc_exp=False, dvcyaml=False) as live:
        live.log_params({"model": model_name, "seed": seed, "variant": variant})
        record = train_motionbeat(
            model,
            train_tok,
            val_tok,
            cfg=cfg,
            tcfg=tcfg,
            seed=seed,
            device=device,
            skeleton=Skeleton(skeleton_layout(params)),
            lr_lambda=lr_lambda({**tcfg, "max_epochs": cfg["max_epochs"]}),
            live=live,
            amp=use_amp(params, device),
        )
    save_checkpoint(
        out["checkpoint"],
        state_dict=model.state_dict(),
        model=model_name,
        variant=variant,
        params={"motionbeat": cfg, "train": tcfg, "seed": seed, "dataset": params["dataset"]},
        seed_index=seed_index,
        fold=fold,
        dims=dims,
        beats=train_tok.beats_source,
        train_windows=len(metas["train"]),
        val_windows=len(metas["val"]),
        record=record,
        device=str(device),
    )
    log.info(
        "%s: %d train / %d val windows (%d / %d tokens), best epoch %s -> %s",
        model_name,
        len(metas["train"]),
        len(metas["val"]),
        train_tok.tokens["phase"].shape[0],
        val_tok.tokens["phase"].shape[0],
        record["best_epoch"],
        out["checkpoint"],
    )
    return out["checkpoint"]


if __name__ == "__main__":
    raise SystemExit(run_stage(train, __doc__.splitlines()[0], seeded=True, folded=True, varianted=True))
