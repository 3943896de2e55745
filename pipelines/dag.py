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
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .cli import fan_out_jobs, n_workers, part_path
from .codedeps import module_files
from .config import REPO_ROOT, Paths, aistpp_location, load_params, runs, seed_indices
from .data.generation_files import GENERATE_VARIANTS, generation_results, generator_files, tokenizer_files
from .files import atomic_file
from .models.registry import LEARNED, MOTIONBEAT, RETRIEVAL_MODELS, motionbeat_name

#: Snakemake report captions (workflow/report/<name>.rst) of the outputs that carry one.
CAPTION = {
    "data_report": {"caption": "data_report", "category": "Data"},
    "metrics": {"caption": "metrics", "category": "Models"},
    "report": {"caption": "report", "category": "Report"},
    "figures": {"caption": "figures", "category": "Report", "patterns": ["{name}.png"]},
}


@dataclass(frozen=True)
class Stage:
    """One DAG stage: ``python -m pipelines.stages.<module> --params params.yaml [args]``.

    ``deps`` is what the stage's code imports (:func:`pipelines.codedeps.module_files`), then
    ``requires`` (environment files) and ``inputs`` (data): Snakemake and DVC rerun the stage
    when any of them changes.
    """

    name: str
    inputs: list[str]  # data files and directories the stage reads
    params: list[str]  # dotted keys of params.yaml
    outs: list[str]  # directories and files the stage writes
    out_dirs: list[str] = field(default_factory=list)  # the subset of ``outs`` that are directories
    metrics: list[str] = field(default_factory=list)  # small JSON files (in DVC's cache, so `dvc push` shares them)
    plots: list[str] = field(default_factory=list)  # curves and tables (in DVC's cache)
    module: str = ""  # pipelines.stages.<module>; default: the stage name
    args: str = ""  # extra command-line arguments
    requires: list[str] = field(default_factory=list)  # environment files (requirements-*.txt)
    # uses CUDA when present (the `device` param), the Snakemake resource gpu=1 (runs on the CPU too); a
    # stage without it runs on the CPU whatever the machine (evaluation: the same numbers everywhere)
    gpu: bool = False
    threads: int = 1  # cores the stage occupies (its worker processes): Snakemake's ``threads``
    env: str = "pipeline"  # workflow/envs/<env>.yaml, for --software-deployment-method conda
    captions: dict = field(default_factory=dict)  # output -> Snakemake report caption (workflow/report/)
    target: str = "all"  # "ablations": built by `snakemake ablations` only, and left out of dvc.yaml

    @property
    def module_name(self) -> str:
        return f"pipelines.stages.{self.module or self.name}"

    @property
    def cmd(self) -> str:
        extra = f" {self.args}" if self.args else ""
        return f"python -m {self.module_name} --params params.yaml{extra}"

    @property
    def dvc_cmd(self) -> str:
        """``cmd`` for dvc.yaml: GPU stages run through :mod:`pipelines.launch` (``cluster.launcher``)."""
        return f"python -m pipelines.launch --params params.yaml -- {self.cmd}" if self.gpu else self.cmd

    @property
    def code(self) -> list[str]:
        """The files of every ``pipelines`` module the stage imports."""
        return module_files(self.module_name)

    @property
    def deps(self) -> list[str]:
        return self.code + self.requires + self.inputs

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
    file, and a rerun redoes only the clips whose stage params changed. With ``cluster.fan_out``
    N > 1 each per-clip stage fans out (:func:`fan_out`).
    """
    clips = Paths(params).clips
    manifest = str(clips / "manifest.csv")
    backend = params["stems"]["backend"]
    per_clip = [
        Stage("youtube_clips", [params["youtube"]["links"]], ["youtube"], [manifest]),
        Stage(
            "pose",
            [manifest],
            ["pose"],
            [str(clips / "pose_summary.json")],
            requires=["requirements-pose.txt"],
            env="pose",
            threads=n_workers(params),
        ),
        Stage(
            "stems",
            [manifest],
            ["stems"] + (["device", "cuda"] if backend == "demucs" else []),
            [str(clips / "stems_summary.json")],
            requires=["requirements-spleeter.txt"] if backend == "spleeter" else [],
            gpu=backend != "hpss",
            env="spleeter" if backend == "spleeter" else "pipeline",
        ),
        Stage(
            "encodec",
            [str(clips / "stems_summary.json")],
            ["encodec", "device", "cuda"],
            [str(clips / "codes_summary.json")],
            gpu=True,
        ),
    ]
    jobs = fan_out_jobs(params)
    return per_clip[:1] + [
        s for stage in per_clip[1:] for s in fan_out(stage, jobs=jobs, what=Path(stage.outs[0]).stem)
    ]


def fan_out(stage: Stage, *, jobs: int, what: str, inputs: list[str] | None = None) -> list[Stage]:
    """A per-item stage as ``jobs`` part stages ``<name>_part<I>`` (``--part I/N``, each writing its
    part of the output: :func:`pipelines.cli.part_path`) and stage ``<name>``
    (:mod:`pipelines.stages.gather_parts` ``--what what``) joining them into the output the later
    stages read (``inputs``: what the gather reads besides the parts); with one job, the stage itself."""
    if jobs <= 1:
        return [stage]
    out = stage.outs[0]
    parts = []
    for i in range(jobs):
        part_out = str(part_path(out, (i, jobs)))
        parts.append(
            replace(
                stage,
                name=f"{stage.name}_part{i}",
                outs=[part_out],
                out_dirs=[part_out] if stage.out_dirs else [],
                module=stage.module or stage.name,
                args=f"--part {i}/{jobs}",
            )
        )
    gather = Stage(
        stage.name,
        [p.outs[0] for p in parts] + list(inputs or []),
        [],
        [out],
        out_dirs=list(stage.out_dirs),
        module="gather_parts",
        args=f"--what {what}",
    )
    return parts + [gather]


def stages(params: dict) -> dict[str, Stage]:
    """All stages for the configured dataset, in DAG order."""
    p = Paths(params)
    ds = params["dataset"]
    workers = n_workers(params)
    index, afeat, mfeat = str(p.index), str(p.audio_features), str(p.motion_features)
    win, shards, report = str(p.windows), str(p.shards), str(p.data_report)
    source = _source_deps(params)
    acquire_inputs = [] if ds == "synthetic" else list(source)
    if ds == "youtube":
        acquire_inputs.append(str(p.clips / "pose_summary.json"))
    acquire_outs = ([str(p.raw)] if ds == "synthetic" else []) + [index]
    all_stages = ingest_stages(params) if ds == "youtube" else []
    if ds == "aistpp" and params["datasets"]["aistpp"]["source"] == "download":
        target = params["download_aistpp"]["target"]
        all_stages.append(
            Stage(
                "download_aistpp",
                [],
                ["download_aistpp"],
                [f"{target}/annotations", f"{target}/music"],
                out_dirs=[f"{target}/annotations", f"{target}/music"],
            )
        )
    # youtube: the frame rate and window length come from the `youtube` section, and the motion
    # lives in the clip folders, which only the pose summary's checksums track
    grid = ["youtube.fps", "youtube.window_seconds"] if ds == "youtube" else []
    motion_src = source + ([str(p.clips / "pose_summary.json")] if ds == "youtube" else [])
    jobs = fan_out_jobs(params)
    features = Stage(
        "audio_features", [index] + source, ["audio", "on_error"] + grid, [afeat], out_dirs=[afeat], threads=workers
    )
    motion = Stage(
        "motion_features",
        [index] + motion_src,
        ["motion", "on_error"] + grid,
        [mfeat],
        out_dirs=[mfeat],
        threads=workers,
    )
    all_stages += [
        Stage(
            "acquire",
            acquire_inputs,
            ["dataset", "seed", "on_error", f"datasets.{ds}"],
            acquire_outs,
            out_dirs=acquire_outs,
            threads=workers,
        ),
        *fan_out(features, jobs=jobs, what="audio_features", inputs=[index]),
        *fan_out(motion, jobs=jobs, what="motion_features", inputs=[index]),
        Stage("windows", [index, afeat, mfeat], ["windows", "alignment", "on_error"] + grid, [win], out_dirs=[win]),
        Stage(
            "shards",
            [win, afeat, mfeat] + ([str(p.clips / "codes_summary.json")] if ds == "youtube" else []),
            ["shards"] + grid,
            [shards],
            out_dirs=[shards],
        ),
        Stage(
            "data_report",
            [index, win, afeat, mfeat] + ([str(p.raw)] if ds == "synthetic" else []),
            # the real AIST++ sequences it compares with are read if present, not tracked: same DAG without them
            ["evaluate.beat_align_sigma_s", "datasets.aistpp.root", "datasets.aistpp.keypoints"],
            [f"{report}/report.md", f"{report}/figures"],
            out_dirs=[f"{report}/figures"],
            metrics=[f"{report}/summary.json"],
            captions={f"{report}/report.md": CAPTION["data_report"]},
        ),
    ]
    if ds == "youtube":  # of the model families only dance to music trains on the clips
        all_stages += generate_stages(params, sources=[index, mfeat] + motion_src)
        return {s.name: s for s in all_stages}
    all_stages += generate_stages(params, sources=[index, mfeat, afeat] + source)
    run_files, main_evals = [], []
    rhythm_inputs = [afeat, mfeat] + ([str(p.raw)] if ds == "synthetic" else [])
    for m in RETRIEVAL_MODELS:
        learned = m in LEARNED
        model_runs = runs(params, m)
        for run in model_runs:
            name, main = run["name"], run is model_runs[0]
            args = f"--model {m} --seed-index {run['seed_index']}" + (
                f" --fold {run['fold']}" if run["fold"] is not None else ""
            )
            files = {key: str(v) for key, v in p.model_files(m, name).items()}
            ckpt = files["checkpoint"]
            all_stages.append(
                Stage(
                    f"train_{m}_{name}",
                    [shards],
                    ["seed", "device", "cuda", "train", m]
                    + (["evaluate.folds", "evaluate.val_fraction"] if run["fold"] is not None else []),
                    [ckpt] + ([files["live"]] if learned else []),
                    out_dirs=[files["live"]] if learned else [],
                    module="train",
                    args=args,
                    gpu=learned,
                )
            )
            all_stages.append(
                Stage(
                    f"evaluate_{m}_{name}",
                    [shards, ckpt] + rhythm_inputs,
                    ["seed", "evaluate.ks", "evaluate.chance_draws"]
                    + RHYTHM_PARAMS
                    + (["evaluate.folds", "evaluate.val_fraction"] if run["fold"] is not None else []),
                    [files["evaluation"], files["eval"]],
                    plots=[files["recall_plot"]] if main else [],
                    module="evaluate",
                    args=args,
                    captions={files["evaluation"]: {**CAPTION["metrics"], "subcategory": m}} if main else {},
                )
            )
            run_files += [files["evaluation"], files["eval"]]
            if main:
                main_evals.append(files["eval"])
    mb_stages = motionbeat_stages(params, variant="full", inputs=[shards] + rhythm_inputs)
    all_stages += mb_stages
    run_files += [f for s in mb_stages if s.name.startswith("evaluate_") for f in s.outs]
    mc_results = f"{p.results}/mclemcd"
    all_stages.append(mclemcd_stage(params, grid="main"))
    mc_seed_files = []
    for k in range(1, params["evaluate"]["seeds"]):
        mc_seed_files.append(f"{mc_results}/main_seed{k}.json")
        all_stages.append(
            Stage(
                f"mclemcd_seed{k}",
                [shards],
                ["seed", "device", "cuda", "mclemcd"],
                [mc_seed_files[-1]],
                module="mclemcd_seed",
                args=f"--seed-index {k}",
                gpu=True,
            )
        )
    headlines = [str(p.headline(m)) for m in (*RETRIEVAL_MODELS, MOTIONBEAT, "mclemcd")]
    dvc_metrics = [str(p.metrics_file(m)) for m in (*RETRIEVAL_MODELS, MOTIONBEAT, "mclemcd")]
    comparison = f"{p.results}/comparison.json"
    all_stages.append(
        Stage(
            "summarize",
            run_files + [f"{mc_results}/metrics.json"] + mc_seed_files,
            [
                "seed",
                "evaluate.protocol",
                "evaluate.seeds",
                "evaluate.folds",
                "evaluate.bootstrap_draws",
                "evaluate.ks",
                "mclemcd.main",
            ],
            [comparison, *headlines],
            metrics=dvc_metrics,
        )
    )
    rep = str(p.results)
    all_stages.append(
        Stage(
            "report",
            [f"{report}/summary.json", f"{report}/report.md", comparison]
            + headlines
            + run_files
            + [f"{mc_results}/metrics.json", f"{mc_results}/tables"]
            + [f for s in all_stages if s.name == "evaluate_generate" for f in s.outs + s.metrics],
            ["mclemcd.main", "evaluate.protocol", "evaluate.seeds", "evaluate.folds"],
            [f"{rep}/report.html", f"{rep}/report.md", f"{rep}/report_figures"],
            out_dirs=[f"{rep}/report_figures"],
            captions={f"{rep}/report.html": CAPTION["report"], f"{rep}/report_figures": CAPTION["figures"]},
        )
    )
    # target `ablations`: MotionBeat's ablations and MCLEMCD's grid, tabulated by stage ablation_report
    abl_files = []
    for variant in params["motionbeat"]["ablation"]:
        if variant == "full":
            continue
        for s in motionbeat_stages(params, variant=variant, inputs=[shards] + rhythm_inputs, ablation=True):
            all_stages.append(s)
            if s.name.startswith("evaluate_"):
                abl_files += s.outs
    mca = f"{p.results}/mclemcd_ablation"
    all_stages.append(mclemcd_stage(params, grid="ablation"))
    gen_results = [str(generation_results(params, v)["metrics"]) for v in GENERATE_VARIANTS]
    all_stages.append(
        Stage(
            "ablation_report",
            abl_files + run_files + [f"{mca}/metrics.json"] + gen_results,
            [
                "generate.ablation",
                "motionbeat.ablation",
                "motionbeat.ablation_seeds",
                "evaluate.seeds",
                "evaluate.protocol",
                "evaluate.folds",
            ],
            [f"{p.results}/ablations/report.md", f"{p.results}/ablations/motionbeat.json"],
            target="ablations",
        )
    )
    return {s.name: s for s in all_stages}


#: Params of the rhythm protocol every evaluate stage scores (pipelines.evaluation.rhythm).
RHYTHM_PARAMS = [
    "evaluate.beat_align_sigma_s",
    "motionbeat.beats",
    "motionbeat.subdivisions",
    "motionbeat.phase_shifts_beats",
    "motionbeat.tempo_negatives.tolerance_bpm",
]


def mclemcd_stage(params: dict, *, grid: str) -> Stage:
    """Stage ``mclemcd`` (``grid="main"``: the ``mclemcd.main`` variant, target ``all``) or
    ``mclemcd_ablation`` (``grid="ablation"``: the ``mclemcd.ablation`` grid, target ``ablations``)."""
    p = Paths(params)
    name = "mclemcd" if grid == "main" else "mclemcd_ablation"
    params_keys = [f"mclemcd.{k}" for k in params["mclemcd"] if k not in ("main", "ablation")]
    return Stage(
        name,
        [str(p.shards)],
        ["seed", "device", "cuda"] + params_keys + [f"mclemcd.{grid}"],
        [f"{p.models}/{name}", f"{p.results}/{name}/tables", f"{p.results}/{name}/metrics.json"],
        out_dirs=[f"{p.models}/{name}", f"{p.results}/{name}/tables"],
        module="mclemcd",
        args=f"--grid {grid}",
        gpu=True,
        target="all" if grid == "main" else "ablations",
    )


def motionbeat_stages(params: dict, *, variant: str, inputs: list[str], ablation: bool = False) -> list[Stage]:
    """Train and evaluate stages of one MotionBeat variant: one run per seed or fold (``full``), or
    ``motionbeat.ablation_seeds`` runs (an ablation, target ``ablations``)."""
    p, model = Paths(params), motionbeat_name(variant)
    model_runs = runs(params, MOTIONBEAT)
    if ablation and params["evaluate"]["protocol"] != "kfold":
        model_runs = model_runs[: params["motionbeat"]["ablation_seeds"]]
    out = []
    for run in model_runs:
        name = run["name"]
        args = f"--model {model} --seed-index {run['seed_index']}" + (
            f" --fold {run['fold']}" if run["fold"] is not None else ""
        )
        files = {key: str(v) for key, v in p.model_files(model, name).items()}
        fold_params = ["evaluate.folds", "evaluate.val_fraction"] if run["fold"] is not None else []
        out.append(
            Stage(
                f"train_{model}_{name}",
                inputs,
                ["seed", "device", "cuda", "train", "motionbeat"] + fold_params,
                [files["checkpoint"], files["live"]],
                out_dirs=[files["live"]],
                module="train_motionbeat",
                args=args,
                gpu=True,
                target="ablations" if ablation else "all",
            )
        )
        out.append(
            Stage(
                f"evaluate_{model}_{name}",
                inputs + [files["checkpoint"]],
                ["seed", "evaluate.ks", "evaluate.chance_draws"] + RHYTHM_PARAMS + fold_params,
                [files["evaluation"], files["eval"]],
                plots=[files["recall_plot"]] if run is model_runs[0] and not ablation else [],
                module="evaluate_motionbeat",
                args=args,
                target="ablations" if ablation else "all",
            )
        )
    return out


def generate_stages(params: dict, *, sources: list[str]) -> list[Stage]:
    """Dance to music: the offline tokenizer's fit (``generate.tokenizer: mel_kmeans``; EnCodec needs
    none), one training run per seed, and the evaluation of all runs beside the baselines."""
    p = Paths(params)
    out = []
    token_deps = []
    if params["generate"]["tokenizer"] == "mel_kmeans":
        tok = {k: str(v) for k, v in tokenizer_files(params).items()}
        token_deps = [tok["tokenizer"]]
        out.append(
            Stage(
                "fit_tokenizer",
                [sources[0]] + sources[2:],
                ["generate.tokenizer", "generate.mel_kmeans", "audio.min_sample_rate", "audio.min_seconds", "seed"],
                [tok["tokenizer"]],
                metrics=[tok["metrics"]],
            )
        )
    encodec = ["encodec"] if params["generate"]["tokenizer"] == "encodec" else []
    # what training reads; the evaluation's own keys, the other sizes and the ablation leave the runs alone
    skip = ("samples", "beat_hit_tolerance_s", "sizes", "ablation")
    train_keys = [f"generate.{k}" for k in params["generate"] if k not in skip]
    train_keys.append("motion.kinetic_min_separation_s")  # the rhythm channels' kinetic beats
    # the cross-modal check and genre probe use the main temporal retrieval model (none for youtube)
    retrieval = [str(p.audio_features), str(p.shards), str(p.model_files("temporal", "seed0")["checkpoint"])]
    variants = ["main"]
    if params["dataset"] == "youtube":
        retrieval = []
    else:  # the ablations (perceptual loss; no rhythm inputs), target `ablations`
        variants += [v for v in GENERATE_VARIANTS if v != "main"]
    for variant in variants:
        seeds = seed_indices(params, "generate")
        tag, target, extra = "", "all", []
        if variant != "main":
            seeds, tag, target = seeds[: params["generate"]["ablation"]["seeds"]], f"_{variant}", "ablations"
            extra = ["generate.ablation"]
        checkpoints = []
        for k in seeds:
            files = {key: str(v) for key, v in generator_files(params, f"seed{k}", variant).items()}
            checkpoints.append(files["checkpoint"])
            out.append(
                Stage(
                    f"train_generate{tag}_seed{k}",
                    sources + token_deps,
                    [
                        "seed",
                        "device",
                        "cuda",
                        *train_keys,
                        *extra,
                        "audio.min_sample_rate",
                        "audio.min_seconds",
                        *encodec,
                    ],
                    [files["checkpoint"], files["live"]],
                    out_dirs=[files["live"]],
                    module="train_generate",
                    args=f"--seed-index {k}" + (f" --variant {variant}" if tag else ""),
                    gpu=True,
                    target=target,
                )
            )
        res = {key: str(v) for key, v in generation_results(params, variant).items()}
        out.append(
            Stage(
                f"evaluate_generate{tag}",
                sources + token_deps + checkpoints + retrieval,
                [
                    "seed",
                    *train_keys,
                    *extra,
                    "generate.samples",
                    "generate.beat_hit_tolerance_s",
                    "audio",
                    *encodec,
                    "train.window_frames",
                    "evaluate.beat_align_sigma_s",
                    "evaluate.bootstrap_draws",
                    "evaluate.chance_draws",
                ],
                [res["samples"]] if variant == "main" else [],
                out_dirs=[res["samples"]] if variant == "main" else [],
                metrics=[res["metrics"]],
                args=f"--variant {variant}" if tag else "",
                module="evaluate_generate",
                target=target,
            )
        )
    return out


def ablation_targets(params: dict) -> list[str]:
    """What ``snakemake ablations`` builds: the ablation report (and everything it needs)."""
    st = stages(params)
    return st["ablation_report"].outs if "ablation_report" in st else []


def final_targets(params: dict) -> list[str]:
    """What ``snakemake all`` builds."""
    st = stages(params)
    data = st["data_report"].outs + st["data_report"].metrics
    generate = [
        f for name in ("fit_tokenizer", "evaluate_generate") if name in st for f in st[name].outs + st[name].metrics
    ]
    return (st["report"].outs if "report" in st else st["shards"].outs) + data + generate


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
    results = Paths(params).results
    if "report" in stages(params):
        out["plots"] = [
            {
                "Recall@K, music to motion, test windows (exact pair)": {
                    "x": "k",
                    "y": {
                        f"{results}/plots/recall_{m}_{runs(params, m)[0]['name']}.csv": ["recall", "chance"]
                        for m in RETRIEVAL_MODELS
                    },
                }
            },
            {
                "Validation piece mAP per epoch, main seed": {
                    "x": "step",
                    "y": {
                        f"{Paths(params).models}/{m}/{runs(params, m)[0]['name']}_live/plots/metrics/val_piece_map.tsv": (
                            "val_piece_map"
                        )
                        for m in LEARNED
                    },
                }
            },
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
