"""The DAG, declared once: every stage's command, dependencies, params, outputs and resources.

Snakemake's rules are generated from :func:`stages` in one loop (``workflow/rules/stages.smk``)
and ``dvc.yaml`` is generated from it, so both front ends run the same commands on the same
files. A stage's code dependencies are read from its imports (:mod:`pipelines.codedeps`).
This module imports no torch, numpy or librosa, so parsing the workflow stays fast. ``python -m pipelines.dag --check`` (and a test) fails when
``dvc.yaml`` has drifted; ``python -m pipelines.dag --write`` regenerates it (needed after
changing ``dataset`` in params.yaml, since the data paths depend on it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from .config import REPO_ROOT, Paths, load_params
from .datasets import DataContext
from .datasets.stages import data_stages
from .files import atomic_file
from .registry import FAMILIES, check_params, model_runs, scored_models
from .stage import CAPTION, Stage


def stages(params: dict) -> dict[str, Stage]:
    """All stages for the configured dataset, in DAG order: the data stages
    (:func:`pipelines.datasets.stages.data_stages`), then the model families'."""
    data_part, data = data_stages(params)
    return {s.name: s for s in data_part + family_stages(params, data)}


def family_stages(params: dict, data: DataContext) -> list[Stage]:
    """Every model family's stages (:data:`pipelines.registry.FAMILIES`), then the stages that read
    them all: ``summarize`` (headlines, margins), ``report`` and ``ablation_report`` (target
    ``ablations``). On unlabelled data only the families that need no genres or pieces."""
    check_params(params)
    p = Paths(params)
    families = [f for f in FAMILIES if data.labelled or not f.needs_labels]
    by_family = {f.name: f.stages(params, data) for f in families}
    out = [s for f in families for s in by_family[f.name]]
    if not data.labelled:
        return out
    results = [f for s in out if s.results and s.target == "all" for f in s.outs + s.metrics]
    summarized = [
        f
        for fam in families
        if fam.summarize is not None
        for s in by_family[fam.name]
        if s.results and s.target == "all"
        for f in s.outs + s.metrics
    ]
    models = [m for f in families if f.summarize is not None for m in f.models(params)]
    summary_params = [k for f in families for k in f.summary_params]
    headlines = [str(p.headline(m)) for m in models]
    comparison = f"{p.results}/comparison.json"
    out.append(
        Stage(
            "summarize",
            summarized,
            [
                "seed",
                "evaluate.protocol",
                "evaluate.seeds",
                "evaluate.folds",
                "evaluate.bootstrap_draws",
                "evaluate.ks",
                *summary_params,
            ],
            [comparison, *headlines],
            metrics=[str(p.metrics_file(m)) for m in models],
        )
    )
    rep, report = str(p.results), str(p.data_report)
    out.append(
        Stage(
            "report",
            [f"{report}/summary.json", f"{report}/report.md", comparison] + headlines + results,
            [*summary_params, "evaluate.protocol", "evaluate.seeds", "evaluate.folds"],
            [f"{rep}/report.html", f"{rep}/report.md", f"{rep}/report_figures"],
            out_dirs=[f"{rep}/report_figures"],
            captions={f"{rep}/report.html": CAPTION["report"], f"{rep}/report_figures": CAPTION["figures"]},
        )
    )
    ablated = [f for f in families if f.ablation_report is not None]
    out.append(
        Stage(
            "ablation_report",
            [f for s in out if s.results for f in s.outs + s.metrics],
            [k for f in ablated for k in f.ablation_params] + ["evaluate.seeds", "evaluate.protocol", "evaluate.folds"],
            [f"{p.results}/ablations/report.md"] + [f"{p.results}/ablations/{f.name}.json" for f in ablated],
            target="ablations",
        )
    )
    return out


def ablation_targets(params: dict) -> list[str]:
    """What ``snakemake ablations`` builds: the ablation report (and everything it needs)."""
    st = stages(params)
    return st["ablation_report"].outs if "ablation_report" in st else []


def final_targets(params: dict) -> list[str]:
    """What ``snakemake all`` builds: the report (the shards without one), the data report, and
    every result and metric of the default target's stages."""
    st = stages(params)
    extra = [f for s in st.values() if s.target == "all" for f in (s.outs + s.metrics if s.results else s.metrics)]
    wanted = (st["report"].outs if "report" in st else st["shards"].outs) + extra
    return list(dict.fromkeys(wanted))


def dvc_yaml(params: dict) -> str:
    """The text of ``dvc.yaml`` for these params."""
    out = {"stages": {}}
    for s in stages(params).values():
        if s.target != "all":
            continue
        entry: dict = {"cmd": s.dvc_cmd, "deps": list(s.deps)}
        if s.params:
            entry["params"] = list(s.params)
        entry["outs"] = list(s.outs)
        if s.metrics:
            entry["metrics"] = list(s.metrics)
        if s.plots:
            entry["plots"] = list(s.plots)
        out["stages"][s.name] = entry
    st = stages(params)
    if "report" in st:
        curves = {}
        for m in scored_models(params):
            train = st.get(f"train_{m}_{model_runs(params, m)[0]['name']}")
            if train is not None and train.out_dirs:
                curves[f"{train.out_dirs[0]}/plots/metrics/val_piece_map.tsv"] = "val_piece_map"
        out["plots"] = [
            {
                "Recall@K, music to motion, test windows (exact pair)": {
                    "x": "k",
                    "y": {plot: ["recall", "chance"] for s in st.values() if s.target == "all" for plot in s.plots},
                }
            },
            {"Validation piece mAP per epoch, main seed": {"x": "step", "y": curves}},
        ]
    header = (
        "# Generated by `python -m pipelines.dag --write` from pipelines/dag.py for the dataset in\n"
        f"# params.yaml ({params['dataset']}). Do not edit: a test fails when this file drifts.\n"
    )
    return header + yaml.safe_dump(out, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check dvc.yaml against the DAG in pipelines/dag.py")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", default=str(REPO_ROOT / "dvc.yaml"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = dvc_yaml(load_params(args.params))
    path = Path(args.output)
    if args.write:
        with atomic_file(path, "w") as fh:
            fh.write(text)
        return 0
    if not path.exists() or path.read_text() != text:
        print(
            f"error: {path}: out of date with pipelines/dag.py and {args.params}; "
            "run `python -m pipelines.dag --write`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
