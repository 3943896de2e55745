"""The retrieval family's record: linear, CLIP-style and temporal music ↔ motion retrieval."""

from __future__ import annotations

from ...config import ParamsError, Paths
from ...datasets import DataContext, dataset
from ...family import Family, run_args, run_params
from ...stage import CAPTION, Stage
from .names import DETERMINISTIC, LEARNED, RETRIEVAL_MODELS, RHYTHM_PARAMS, model_runs


def retrieval_stages(params: dict, data: DataContext) -> list[Stage]:
    """``train_<model>_<run>`` and ``evaluate_<model>_<run>`` for every retrieval model and run."""
    p, out = Paths(params), []
    for m in RETRIEVAL_MODELS:
        learned = m in LEARNED
        all_runs = model_runs(params, m)
        for run in all_runs:
            name, main = run["name"], run is all_runs[0]
            args, fold_params = f"--model {m} {run_args(run)}", run_params(run)
            files = {key: str(v) for key, v in p.model_files(m, name).items()}
            ckpt = files["checkpoint"]
            out.append(
                Stage(
                    f"train_{m}_{name}",
                    [data.shards],
                    ["seed", "device", "cuda", "train", m] + fold_params,
                    [ckpt] + ([files["live"]] if learned else []),
                    out_dirs=[files["live"]] if learned else [],
                    module="pipelines.families.retrieval.stage_train",
                    args=args,
                    gpu=learned,
                )
            )
            out.append(
                Stage(
                    f"evaluate_{m}_{name}",
                    [data.shards, ckpt] + data.rhythm_inputs,
                    ["seed", "evaluate.ks", "evaluate.chance_draws"] + RHYTHM_PARAMS + fold_params,
                    [files["evaluation"], files["eval"]],
                    plots=[files["recall_plot"]] if main else [],
                    module="pipelines.families.retrieval.stage_evaluate",
                    args=args,
                    captions={files["evaluation"]: {**CAPTION["metrics"], "subcategory": m}} if main else {},
                    results=True,
                )
            )
    return out


def check_params(params: dict, source: str) -> None:
    """Cross-key checks of the retrieval params (:func:`pipelines.config.validate_params` calls it)."""
    sizes = [w["frames"] for w in params["windows"]]
    # on unlabelled data no retrieval model trains (Family.needs_labels), and the windows are the dataset's own
    if dataset(params).labelled and params["train"]["window_frames"] not in sizes:
        raise ParamsError(
            f"{source}: train.window_frames: {params['train']['window_frames']} is not one of the window sizes {sizes}"
        )
    if params["train"]["crop_frames"] > params["train"]["window_frames"]:
        raise ParamsError(f"{source}: train.crop_frames: longer than train.window_frames")


def _summarize(params: dict, heads: dict, per_query: dict) -> list[dict]:
    from .summary import summarize_retrieval

    return summarize_retrieval(params, heads, per_query)


def _report(params: dict, doc, context: dict) -> None:
    from .report import build

    build(params, doc, models=context["scored_models"])


def _numbers(results, context: dict) -> list[str]:
    from .report import numbers_lines

    return numbers_lines(results, models=context["scored_models"])


FAMILY = Family(
    name="retrieval",
    title="Music ↔ motion retrieval",
    stages=retrieval_stages,
    models=lambda params: RETRIEVAL_MODELS,
    scored_by_retrieval=True,
    deterministic=DETERMINISTIC,
    summarize=_summarize,
    report=_report,
    numbers=_numbers,
    check_params=check_params,
    variants=lambda params: {},
    headline=("piece_R@1", "piece_mAP"),
    step_rate="pipelines.families.retrieval.bench:temporal_rate",
)
