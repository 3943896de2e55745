"""Run a stage's command through the cluster launcher: what ``dvc.yaml`` puts before its GPU stages.

``python -m pipelines.launch --params params.yaml -- python -m pipelines.stages.<stage> ...``

With ``cluster.launcher`` empty or absent (the default) the command runs here, as if this module
were not there; otherwise the launcher's words go in front of it, for example
``srun --gpus=1 --partition=gpu`` to run the stage on a CUDA node of a SLURM cluster from a
``dvc repro`` on the login node. The launcher is read when the stage runs and is not one of any
stage's params, and this wrapper is the same text in every ``dvc.yaml``, so switching launchers
changes neither ``dvc.yaml`` nor ``dvc.lock`` and reruns nothing. (Snakemake does not use it: its
SLURM executor submits the jobs itself, ``workflow/profiles/slurm``.)
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from .config import load_params


def launch_argv(params: dict, command: list[str]) -> list[str]:
    """``command`` behind the words of ``cluster.launcher`` (none when it is empty or unset)."""
    launcher = (params.get("cluster") or {}).get("launcher") or ""
    return shlex.split(launcher) + command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the stage's command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    full = launch_argv(load_params(args.params), command)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(full[0], full)  # the stage's exit status is ours
    except FileNotFoundError:
        print(f"{args.params}: cluster.launcher: {full[0]!r} not found", file=sys.stderr)
        return 127


if __name__ == "__main__":
    raise SystemExit(main())
