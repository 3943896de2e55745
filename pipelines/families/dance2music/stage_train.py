"""Stage ``train_dance2music_<run>``: fit one training run of the pose-to-audio generator.

``python -m pipelines.families.dance2music.stage_train --params params.yaml --seed-index K [--variant V]``

``--variant V`` (target ``ablations``, stage ``train_dance2music_V_seed<K>``) trains variant ``V`` of
``dance2music.variants`` (:func:`pipelines.families.dance2music.model.generator_variant`; e.g.
``perceptual`` with the perceptual loss on, ``no_rhythm`` without the rhythm channels and the aligned
decoder input) into ``models/<dataset>/dance2music/V/``.

Windows of ``dance2music.seconds`` from the index's train and val sequences
(:func:`pipelines.families.dance2music.data.dataset_examples`: pose from the motion features, missing
frames masked; tokens of the sequence's music by the configured tokenizer). The model is
:mod:`pipelines.families.dance2music.model` at the ``dance2music`` params; training, scheduled sampling
and the free-running validation that picks the kept epoch are described in
:mod:`pipelines.families.dance2music.training`. Seeded (``seed`` + K); the top-level ``device: auto``
uses CUDA when present. Curves go to ``models/<dataset>/dance2music/seed<K>_live/`` (dvclive).

Output: ``models/<dataset>/dance2music/seed<K>.pt`` (:mod:`pipelines.training.checkpoint`
format): the state dict, the model's constructor arguments, the params that made it, the
tokenizer's layout and the training record.
"""

from __future__ import annotations

import logging

from ...cli import run_stage
from ...config import run_name, run_seed
from ...datasets import motion_fps
from ...training.checkpoint import save_checkpoint
from ...training.loop import lr_lambda
from ...training.runtime import configure_device, seed_everything, use_amp
from .data import pulse_separation, split_windows
from .files import generator_files
from .model import build_generator, generator_config, generator_variant
from .tokenizer import load_tokenizer, token_layout
from .training import train_generator

log = logging.getLogger(__name__)


def train(params: dict, *, seed_index: int = 0, variant: str = "main"):
    params = generator_variant(params, variant)
    cfg = generator_config(params)
    out = generator_files(params, run_name(seed_index=seed_index), variant)
    seed = run_seed(params, seed_index)
    seed_everything(seed)
    tokenizer = load_tokenizer(params)
    train_set, val_set = split_windows(params, "train", tokenizer), split_windows(params, "val", tokenizer)
    fps = motion_fps(params)
    model = build_generator(params, pose_dim=train_set.pose.shape[2], pose_fps=fps)
    device = configure_device(params)
    from dvclive import Live

    with Live(dir=str(out["live"]), save_dvc_exp=False, dvcyaml=False) as live:
        live.log_params({"model": "dance2music", "variant": variant, "seed": seed})
        record = train_generator(
            model,
            train_set,
            val_set,
            cfg=cfg,
            tokenizer=tokenizer,
            seed=seed,
            device=device,
            lr_lambda=lr_lambda(cfg),
            live=live,
            amp=use_amp(params, device),
        )
    save_checkpoint(
        out["checkpoint"],
        state_dict=model.state_dict(),
        model="dance2music",
        variant=variant,
        arch={
            "pose_dim": int(train_set.pose.shape[2]),
            "pose_fps": float(fps),
            **{
                k: cfg[k]
                for k in (
                    "width",
                    "heads",
                    "encoder_layers",
                    "decoder_layers",
                    "dropout",
                    "cond_drop",
                    "pose_stride",
                    "aligned",
                )
            },
        },
        layout=token_layout(params),
        params={
            "dance2music": cfg,
            "seed": seed,
            "dataset": params["dataset"],
            "kinetic_min_separation_s": pulse_separation(params),
        },
        seed_index=seed_index,
        train_windows=len(train_set),
        val_windows=len(val_set),
        record=record,
        device=str(device),
    )
    log.info(
        "generate: %d train / %d val windows, best epoch %s (val free-running %s %.3f) -> %s",
        len(train_set),
        len(val_set),
        record["best_epoch"],
        cfg["select_by"],
        record.get(f"best_val_free_{cfg['select_by']}", float("nan")),
        out["checkpoint"],
    )
    return out["checkpoint"]


if __name__ == "__main__":
    raise SystemExit(run_stage(train, __doc__.splitlines()[0], seeded=True, varianted=True))
