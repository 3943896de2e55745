"""MotionBeat's record: a music encoder learned from dance (train and evaluate per run; ablations)."""

from __future__ import annotations

from ...config import Paths, runs
from ...datasets import DataContext
from ...family import MAIN, Family, model_name, run_args, run_params
from ...stage import Stage
from ..retrieval.names import RHYTHM_PARAMS

NAME = "motionbeat"
#: Keys of the ``motionbeat`` section that do not change a run of the main model.
NOT_TRAINING = ("variants", "variant_seeds", "sizes")


def motionbeat_stages(params: dict, data: DataContext) -> list[Stage]:
    """Train and evaluate stages of the main model (one run per seed or fold, target ``all``) and of
    every variant in ``motionbeat.variants`` (its first ``motionbeat.variant_seeds`` runs, every
    fold under kfold; target ``ablations``)."""
    out = _variant_stages(params, data, MAIN)
    for variant in params[NAME]["variants"] or {}:
        out += _variant_stages(params, data, variant)
    return out


def _variant_stages(params: dict, data: DataContext, variant: str) -> list[Stage]:
    p, model, main = Paths(params), model_name(NAME, variant), variant == MAIN
    model_runs = runs(params)
    if not main and params["evaluate"]["protocol"] != "kfold":
        model_runs = model_runs[: params[NAME]["variant_seeds"]]
    keys = [f"{NAME}.{k}" for k in params[NAME] if k not in NOT_TRAINING] + ["rhythm"]
    if not main:
        keys.append(f"{NAME}.variants.{variant}")
    target = "all" if main else "ablations"
    inputs = [data.shards] + data.rhythm_inputs
    out = []
    for run in model_runs:
        name = run["name"]
        args = run_args(run) + ("" if main else f" --variant {variant}")
        files = {key: str(v) for key, v in p.model_files(model, name).items()}
        fold_params = run_params(run)
        out.append(
            Stage(
                f"train_{model}_{name}",
                inputs,
                ["seed", "device", "cuda", "train", *keys] + fold_params,
                [files["checkpoint"], files["live"]],
                out_dirs=[files["live"]],
                module="pipelines.families.motionbeat.stage_train",
                args=args,
                gpu=True,
                target=target,
            )
        )
        out.append(
            Stage(
                f"evaluate_{model}_{name}",
                inputs + [files["checkpoint"]],
                ["seed", "evaluate.ks", "evaluate.chance_draws"] + RHYTHM_PARAMS + fold_params,
                [files["evaluation"], files["eval"]],
                plots=[files["recall_plot"]] if run is model_runs[0] and main else [],
                module="pipelines.families.motionbeat.stage_evaluate",
                args=args,
                target=target,
                results=True,
            )
        )
    return out


def _summarize(params: dict, heads: dict, per_query: dict) -> list[dict]:
    from .summary import summarize_motionbeat

    return summarize_motionbeat(params, heads, per_query)


def _ablation_report(params: dict) -> tuple[list[str], dict]:
    from .report import ablation_section

    return ablation_section(params)


FAMILY = Family(
    name=NAME,
    title="MotionBeat",
    stages=motionbeat_stages,
    models=lambda params: (NAME,),
    scored_by_retrieval=True,
    summarize=_summarize,
    ablation_report=_ablation_report,
    headline=("piece_R@1", "piece_mAP"),
    ablation_params=("motionbeat.variants", "motionbeat.variant_seeds", "rhythm.phase_shifts_beats"),
    step_rate="pipelines.families.motionbeat.bench:step_rate",
)
