"""One DAG stage (:class:`Stage`) and the fan-out of a per-item stage into part stages.

Both front ends (Snakemake's rules, ``dvc.yaml``) are generated from lists of these; the model
families (:mod:`pipelines.families`) and datasets (:mod:`pipelines.datasets`) declare theirs
with it. No torch, numpy or librosa here: parsing the workflow stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .cli import part_path
from .codedeps import module_files

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
    module: str = ""  # a dotted module, or pipelines.stages.<module>; default: the stage name
    args: str = ""  # extra command-line arguments
    requires: list[str] = field(default_factory=list)  # environment files (requirements-*.txt)
    # uses CUDA when present (the `device` param), the Snakemake resource gpu=1 (runs on the CPU too); a
    # stage without it runs on the CPU whatever the machine (evaluation: the same numbers everywhere)
    gpu: bool = False
    threads: int = 1  # cores the stage occupies (its worker processes): Snakemake's ``threads``
    env: str = "pipeline"  # workflow/envs/<env>.yaml, for --software-deployment-method conda
    captions: dict = field(default_factory=dict)  # output -> Snakemake report caption (workflow/report/)
    target: str = "all"  # "ablations": built by `snakemake ablations` only, and left out of dvc.yaml
    results: bool = False  # its outputs are results that the summary and the reports read

    @property
    def module_name(self) -> str:
        """The module ``python -m`` runs: ``module`` when dotted (a family's ``stage_*`` module),
        else ``pipelines.stages.<module or name>``."""
        module = self.module or self.name
        return module if "." in module else f"pipelines.stages.{module}"

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
