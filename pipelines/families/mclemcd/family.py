"""MCLEMCD's record: music genre from dance with collaborative learning (main variant, seeds, grid)."""

from __future__ import annotations

from ...config import ParamsError, Paths, seed_indices
from ...datasets import DataContext
from ...family import Family
from ...stage import Stage
from .variants import grid_variants

NAME = "mclemcd"


def mclemcd_stage(params: dict, data: DataContext, *, grid: str) -> Stage:
    """Stage ``mclemcd`` (``grid="main"``: the ``mclemcd.main`` variant, target ``all``) or
    ``mclemcd_ablation`` (``grid="ablation"``: every variant of the grid, target ``ablations``)."""
    p = Paths(params)
    name = NAME if grid == "main" else f"{NAME}_ablation"
    params_keys = [f"{NAME}.{k}" for k in params[NAME] if k not in ("main", "ablation")]
    return Stage(
        name,
        [data.shards],
        ["seed", "device", "cuda"] + params_keys + [f"{NAME}.{grid}"],
        [f"{p.models}/{name}", f"{p.results}/{name}/tables", f"{p.results}/{name}/metrics.json"],
        out_dirs=[f"{p.models}/{name}", f"{p.results}/{name}/tables"],
        module="pipelines.families.mclemcd.stage_train",
        args=f"--grid {grid}",
        gpu=True,
        target="all" if grid == "main" else "ablations",
        results=True,
    )


def mclemcd_stages(params: dict, data: DataContext) -> list[Stage]:
    """The main variant with the main seed (stage ``mclemcd``), with every other seed (stages
    ``mclemcd_seed<K>``, :func:`pipelines.config.seed_indices`), and the grid (``mclemcd_ablation``)."""
    results = Paths(params).results / NAME
    out = [mclemcd_stage(params, data, grid="main")]
    for k in seed_indices(params)[1:]:
        out.append(
            Stage(
                f"{NAME}_seed{k}",
                [data.shards],
                ["seed", "device", "cuda", NAME],
                [f"{results}/main_seed{k}.json"],
                module="pipelines.families.mclemcd.stage_seed",
                args=f"--seed-index {k}",
                gpu=True,
                results=True,
            )
        )
    return out + [mclemcd_stage(params, data, grid="ablation")]


def check_params(params: dict, source: str) -> None:
    """Cross-key checks of the ``mclemcd`` section (:func:`pipelines.config.validate_params` calls it)."""
    sizes = [w["frames"] for w in params["windows"]]
    cfg = params[NAME]
    name = params["dataset"] if params["dataset"] in cfg["segmentation"] else "default"
    seg = cfg["segmentation"][name]
    if seg["window_frames"] not in sizes:
        raise ParamsError(
            f"{source}: mclemcd.segmentation.{name}.window_frames: "
            f"{seg['window_frames']} is not one of the window sizes {sizes}"
        )
    if seg["segment_frames"] % seg["window_frames"]:
        raise ParamsError(f"{source}: mclemcd.segmentation.{name}.segment_frames: not a multiple of window_frames")
    main, grid = cfg["main"], cfg["ablation"]
    if (
        main["collaborative"] not in grid["collaborative"]
        or main["regulariser"] not in grid["regulariser"]
        or main["input"] not in grid["input"]
        or (main["regulariser"] == "fc" and not main["collaborative"])
    ):
        raise ParamsError(
            f"{source}: mclemcd.main: not a variant of mclemcd.ablation (and fc needs collaborative learning)"
        )


def _summarize(params: dict, heads: dict, per_query: dict) -> list[dict]:
    from .summary import summarize_mclemcd

    return summarize_mclemcd(params, heads, per_query)


def _report(params: dict, doc, context: dict) -> None:
    from .report import mclemcd_section

    mclemcd_section(params, doc)


def _ablation_report(params: dict) -> tuple[list[str], dict]:
    import json

    from .tables import ablation_markdown

    grid = json.loads((Paths(params).results / f"{NAME}_ablation" / "metrics.json").read_text())
    return ["## MCLEMCD", "", ablation_markdown(grid)], {}


def _numbers(results, context: dict) -> list[str]:
    from .report import numbers_lines

    return numbers_lines(results)


FAMILY = Family(
    name=NAME,
    title="MCLEMCD: music genre from dance",
    stages=mclemcd_stages,
    models=lambda params: (NAME,),
    summarize=_summarize,
    report=_report,
    ablation_report=_ablation_report,
    check_params=check_params,
    variants=lambda params: grid_variants(params[NAME]["ablation"]),
    headline=("window_accuracy", "piece_accuracy"),
    summary_params=("mclemcd.main",),
    ablation_params=("mclemcd.ablation",),
    step_rate="pipelines.families.mclemcd.bench:step_rate",
    numbers=_numbers,
)
