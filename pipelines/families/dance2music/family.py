"""Dance to music's record: pose → audio tokens → waveform (tokenizer fit, runs, evaluation, ablations)."""

from __future__ import annotations

from ...config import Paths, seed_indices
from ...datasets import DataContext
from ...family import MAIN, Family
from ...stage import Stage
from .files import generation_results, generator_files, tokenizer_files

NAME = "dance2music"
#: Keys of the ``dance2music`` section that leave a training run alone (the evaluation's own keys,
#: the other sizes, the variants).
NOT_TRAINING = ("samples", "beat_hit_tolerance_s", "sizes", "variants", "variant_seeds")


def dance2music_stages(params: dict, data: DataContext) -> list[Stage]:
    """The offline tokenizer's fit (``dance2music.tokenizer: mel_kmeans``; EnCodec needs none), one
    training run per seed, and the evaluation of all runs beside the baselines; on labelled data
    also every variant of ``dance2music.variants`` (target ``ablations``)."""
    cfg, p = params[NAME], Paths(params)
    # what the generator reads: the index, motion features, (labelled data) audio features, the sources
    sources = [data.index, data.motion_features] + ([data.audio_features] if data.labelled else []) + data.sources
    out, token_deps = [], []
    if cfg["tokenizer"] == "mel_kmeans":
        tok = {k: str(v) for k, v in tokenizer_files(params).items()}
        token_deps = [tok["tokenizer"]]
        out.append(
            Stage(
                f"fit_{NAME}_tokenizer",
                [sources[0]] + sources[2:],
                [f"{NAME}.tokenizer", f"{NAME}.mel_kmeans", "audio.min_sample_rate", "audio.min_seconds", "seed"],
                [tok["tokenizer"]],
                metrics=[tok["metrics"]],
                module="pipelines.families.dance2music.stage_fit_tokenizer",
            )
        )
    encodec = ["encodec"] if cfg["tokenizer"] == "encodec" else []
    train_keys = [f"{NAME}.{k}" for k in cfg if k not in NOT_TRAINING]
    train_keys.append("motion.kinetic_min_separation_s")  # the rhythm channels' kinetic beats
    # the cross-modal check and genre probe use the main temporal retrieval model (labelled data only)
    retrieval = [data.audio_features, data.shards, str(p.model_files("temporal", "seed0")["checkpoint"])]
    variants = [MAIN]
    if not data.labelled:
        retrieval = []
    else:
        variants += list(cfg["variants"] or {})
    for variant in variants:
        seeds = seed_indices(params)
        tag, target, extra = "", "all", []
        if variant != MAIN:
            seeds, tag, target = seeds[: cfg["variant_seeds"]], f"_{variant}", "ablations"
            extra = [f"{NAME}.variants.{variant}"]
        checkpoints = []
        for k in seeds:
            files = {key: str(v) for key, v in generator_files(params, f"seed{k}", variant).items()}
            checkpoints.append(files["checkpoint"])
            out.append(
                Stage(
                    f"train_{NAME}{tag}_seed{k}",
                    sources + token_deps,
                    ["seed", "device", "cuda", *train_keys, *extra, "audio.min_sample_rate", "audio.min_seconds"]
                    + encodec,
                    [files["checkpoint"], files["live"]],
                    out_dirs=[files["live"]],
                    module="pipelines.families.dance2music.stage_train",
                    args=f"--seed-index {k}" + (f" --variant {variant}" if tag else ""),
                    gpu=True,
                    target=target,
                )
            )
        res = {key: str(v) for key, v in generation_results(params, variant).items()}
        out.append(
            Stage(
                f"evaluate_{NAME}{tag}",
                sources + token_deps + checkpoints + retrieval,
                [
                    "seed",
                    *train_keys,
                    *extra,
                    f"{NAME}.samples",
                    f"{NAME}.beat_hit_tolerance_s",
                    "audio",
                    *encodec,
                    "train.window_frames",
                    "evaluate.beat_align_sigma_s",
                    "evaluate.bootstrap_draws",
                    "evaluate.chance_draws",
                ],
                [res["samples"]] if variant == MAIN else [],
                out_dirs=[res["samples"]] if variant == MAIN else [],
                metrics=[res["metrics"]],
                args=f"--variant {variant}" if tag else "",
                module="pipelines.families.dance2music.stage_evaluate",
                target=target,
                results=True,
            )
        )
    return out


def _report(params: dict, doc, context: dict) -> None:
    from .report import generation_section

    if generation_results(params)["metrics"].exists():
        generation_section(params, doc)


def _ablation_report(params: dict) -> tuple[list[str], dict]:
    from .report import ablation_section

    return ablation_section(params), {}


def _numbers(results, context: dict) -> list[str]:
    from .report import numbers_lines

    return numbers_lines(results)


FAMILY = Family(
    name=NAME,
    title="Dance to music",
    stages=dance2music_stages,
    models=lambda params: (),
    needs_labels=False,
    report=_report,
    ablation_report=_ablation_report,
    numbers=_numbers,
    ablation_params=("dance2music.variants", "dance2music.variant_seeds"),
    step_rate="pipelines.families.dance2music.bench:train_rate",
)
