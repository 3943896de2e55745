"""The DAG, declared once: every stage's command, dependencies, params and outputs.

Snakemake's rules (``workflow/rules/*.smk``) take their inputs, outputs and params from
:func:`stages`, and ``dvc.yaml`` is generated from it, so both front ends run the same
commands on the same files. ``python -m pipelines.dag --check`` (and a test) fails when
``dvc.yaml`` has drifted; ``python -m pipelines.dag --write`` regenerates it (needed after
changing ``dataset`` in params.yaml, since the data paths depend on it).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .common import atomic_file
from .config import REPO_ROOT, Paths, aistpp_location, load_params
from .models import LEARNED, MODEL_NAMES

CORE = ["pipelines/common.py", "pipelines/config.py"]


@dataclass(frozen=True)
class Stage:
    """One DAG stage: ``python -m pipelines.<name> --params params.yaml``."""

    name: str
    deps: list[str]
    params: list[str]                       # dotted keys of params.yaml
    outs: list[str]                         # directories and files the stage writes
    out_dirs: list[str] = field(default_factory=list)  # the subset of ``outs`` that are directories
    metrics: list[str] = field(default_factory=list)    # small JSON files, kept in git (not cached)
    plots: list[str] = field(default_factory=list)      # curves and tables (not cached)
    module: str = ""                                     # pipelines.<module>; default: the stage name
    args: str = ""                                       # extra command-line arguments
    gpu: bool = False     # wants a CUDA device: declared as the Snakemake resource gpu=1 (runs on CPU too)

    @property
    def cmd(self) -> str:
        extra = f" {self.args}" if self.args else ""
        return f"python -m pipelines.{self.module or self.name} --params params.yaml{extra}"

    @property
    def log(self) -> str:
        return f"logs/{self.name}.log"

    def param_values(self, params: dict) -> dict:
        """The values of this stage's params (Snakemake reruns the stage when they change)."""
        out = {}
        for key in self.params:
            value = params
            for part in key.split("."):
                value = value[part]
            out[key.replace(".", "__")] = value
        return out


def _source_deps(params: dict) -> list[str]:
    ds = params["dataset"]
    if ds == "synthetic":
        return [str(Paths(params).raw)]
    if ds == "aistpp":
        root, music_dir = aistpp_location(params)
        return [f"{root}/annotations", str(music_dir)]
    if ds == "youtube":
        return [str(Paths(params).clips / "manifest.csv")]
    return [params["datasets"]["musictodance"]["root"]]


def ingest_stages(params: dict) -> list[Stage]:
    """YouTube ingestion: clip list -> clips -> pose, stems -> EnCodec codes.

    Per-clip results live in the clip folders, which are not declared outputs (Snakemake and
    DVC delete outputs before rerunning a stage); each stage's declared output is its summary
    file, and a rerun redoes only the clips whose stage params changed.
    """
    clips = Paths(params).clips
    manifest = str(clips / "manifest.csv")
    spleeter = params["stems"]["backend"] == "spleeter"
    return [
        Stage("youtube_clips", CORE + ["pipelines/youtube.py", params["youtube"]["links"]], ["youtube"], [manifest],
              module="youtube"),
        Stage("pose", CORE + ["pipelines/pose.py", "requirements-pose.txt", manifest], ["pose"],
              [str(clips / "pose_summary.json")]),
        Stage("stems", CORE + ["pipelines/stems.py", "pipelines/audio_io.py", manifest]
              + (["requirements-spleeter.txt"] if spleeter else []), ["stems"],
              [str(clips / "stems_summary.json")], gpu=params["stems"]["backend"] != "hpss"),
        Stage("encodec", CORE + ["pipelines/encodec_codes.py", "pipelines/audio_io.py", str(clips / "stems_summary.json")],
              ["encodec"], [str(clips / "codes_summary.json")], module="encodec_codes", gpu=True),
    ]


def stages(params: dict) -> dict[str, Stage]:
    """All stages for the configured dataset, in DAG order."""
    p = Paths(params)
    ds = params["dataset"]
    index, afeat, mfeat = str(p.index), str(p.audio_features), str(p.motion_features)
    win, shards, report = str(p.windows), str(p.shards), str(p.data_report)
    acquire_code = ["pipelines/acquire.py", "pipelines/datasets.py", "pipelines/safe_pickle.py"]
    acquire_deps = CORE + acquire_code + (["pipelines/synthetic.py"] if ds == "synthetic" else _source_deps(params))
    if ds == "youtube":
        acquire_deps.append(str(p.clips / "pose_summary.json"))
    acquire_outs = ([str(p.raw)] if ds == "synthetic" else []) + [index]
    source = _source_deps(params)
    all_stages = ingest_stages(params) if ds == "youtube" else []
    if ds == "aistpp" and params["datasets"]["aistpp"]["source"] == "download":
        target = params["download_aistpp"]["target"]
        all_stages.append(Stage("download_aistpp", CORE + ["pipelines/download_aistpp.py", "pipelines/download.py"],
                                ["download_aistpp"], [f"{target}/annotations", f"{target}/music"],
                                out_dirs=[f"{target}/annotations", f"{target}/music"]))
    # youtube: the frame rate and window length come from the `youtube` section, and the motion
    # lives in the clip folders, which only the pose summary's checksums track
    grid = ["youtube.fps", "youtube.window_seconds"] if ds == "youtube" else []
    motion_src = source + ([str(p.clips / "pose_summary.json")] if ds == "youtube" else [])
    all_stages += [
        Stage("acquire", acquire_deps, ["dataset", "seed", "on_error", f"datasets.{ds}"],
              acquire_outs, out_dirs=acquire_outs),
        Stage("audio_features", CORE + ["pipelines/audio_features.py", "pipelines/audio_io.py", index] + source,
              ["audio", "on_error"] + grid, [afeat], out_dirs=[afeat]),
        Stage("motion_features", CORE + ["pipelines/motion_features.py", "pipelines/skeleton.py",
                                         "pipelines/datasets.py", "pipelines/safe_pickle.py", index] + motion_src,
              ["motion", "on_error"] + grid, [mfeat], out_dirs=[mfeat]),
        Stage("windows", CORE + ["pipelines/windows.py", index, afeat, mfeat],
              ["windows", "alignment", "on_error"] + grid, [win], out_dirs=[win]),
        Stage("shards", CORE + ["pipelines/shards.py", win, afeat, mfeat]
              + ([str(p.clips / "codes_summary.json")] if ds == "youtube" else []), ["shards"] + grid,
              [shards], out_dirs=[shards]),
        Stage("data_report", CORE + ["pipelines/data_report.py", "pipelines/metrics.py", index, win, afeat, mfeat]
              + ([str(p.raw)] if ds == "synthetic" else []), [],
              [f"{report}/report.md", f"{report}/figures"], out_dirs=[f"{report}/figures"],
              metrics=[f"{report}/summary.json"]),
    ]
    if ds == "youtube":  # no model trains on the clips yet: the DAG ends at shards and the data report
        return {s.name: s for s in all_stages}
    model_code = CORE + ["pipelines/train.py", "pipelines/models.py", "pipelines/torch_data.py"]
    metric_files, eval_files = [], []
    for m in MODEL_NAMES:
        ckpt, live = f"{p.models}/{m}.pt", f"{p.models}/{m}_live"
        learned = m in LEARNED
        all_stages.append(Stage(
            f"train_{m}", model_code + [shards], ["seed", "train", m], [ckpt],
            metrics=[f"{live}/metrics.json"] if learned else [], plots=[f"{live}/plots"] if learned else [],
            out_dirs=[f"{live}/plots"] if learned else [], module="train", args=f"--model {m}"))
        metrics, evals = f"{p.results}/metrics/{m}.json", f"{p.results}/eval/{m}.npz"
        all_stages.append(Stage(
            f"evaluate_{m}", model_code + ["pipelines/evaluate.py", "pipelines/metrics.py", shards, ckpt],
            ["seed", "evaluate"], [evals], metrics=[metrics], plots=[f"{p.results}/plots/recall_{m}.csv"],
            module="evaluate", args=f"--model {m}"))
        metric_files.append(metrics)
        eval_files.append(evals)
    mc_results = f"{p.results}/mclemcd"
    all_stages.append(Stage(
        "mclemcd", model_code + ["pipelines/mclemcd.py", "pipelines/gcn.py", "pipelines/skeleton.py", shards],
        ["seed", "train.device"] + [f"mclemcd.{k}" for k in params["mclemcd"] if k != "main"],
        [f"{p.models}/mclemcd", f"{mc_results}/tables"],
        out_dirs=[f"{p.models}/mclemcd", f"{mc_results}/tables"], metrics=[f"{mc_results}/metrics.json"]))
    rep = str(p.results)
    all_stages.append(Stage(
        "report", CORE + ["pipelines/report.py", "pipelines/mclemcd.py", f"{report}/summary.json", f"{report}/report.md"]
        + metric_files + eval_files + [f"{mc_results}/metrics.json", f"{mc_results}/tables"], ["mclemcd.main"],
        [f"{rep}/report.html", f"{rep}/report.md", f"{rep}/report_figures"], out_dirs=[f"{rep}/report_figures"]))
    return {s.name: s for s in all_stages}


def final_targets(params: dict) -> list[str]:
    """What ``snakemake all`` builds."""
    st = stages(params)
    data = st["data_report"].outs + st["data_report"].metrics
    return (st["report"].outs if "report" in st else st["shards"].outs) + data


def dvc_yaml(params: dict) -> str:
    """The text of ``dvc.yaml`` for these params."""
    out = {"stages": {}}
    for s in stages(params).values():
        entry: dict = {"cmd": s.cmd, "deps": list(s.deps)}
        if s.params:
            entry["params"] = list(s.params)
        entry["outs"] = list(s.outs)
        if s.metrics:
            entry["metrics"] = [{m: {"cache": False}} for m in s.metrics]
        if s.plots:
            entry["plots"] = [{m: {"cache": False}} for m in s.plots]
        out["stages"][s.name] = entry
    results = Paths(params).results
    if "report" in stages(params):
        out["plots"] = [{"Recall@K, music to motion, test windows (exact pair)": {
            "x": "k", "y": {f"{results}/plots/recall_{m}.csv": ["recall", "chance"] for m in MODEL_NAMES}}}]
    header = ("# Generated by `python -m pipelines.dag --write` from pipelines/dag.py for the dataset in\n"
              f"# params.yaml ({params['dataset']}). Do not edit: a test fails when this file drifts.\n")
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
        print(f"error: {path}: out of date with pipelines/dag.py and {args.params}; "
              "run `python -m pipelines.dag --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
