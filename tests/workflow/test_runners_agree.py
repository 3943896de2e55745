"""Snakemake and DVC continue each other's work: after either runner has run the DAG, the other
finds nothing to do (tiny config, the real commands)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..helpers import tiny_dag_params, workflow_copy, write_params

pytestmark = pytest.mark.slow  # runs the whole (tiny) pipeline three times


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, (cmd, out.stdout[-3000:], out.stderr[-3000:])
    return out


def test_snakemake_and_dvc_agree_on_what_is_up_to_date(tmp_path):
    params = tiny_dag_params(tmp_path)
    work = workflow_copy(tmp_path / "wf", params)
    python = sys.executable
    _run([python, "-m", "pipelines.dag", "--write", "--params", "params.yaml", "--output", "dvc.yaml"], work)
    _run([python, "-m", "dvc", "init", "--no-scm", "-q"], work)
    smk = [python, "-m", "snakemake", "--cores", "2"]

    # DVC first: then Snakemake schedules nothing
    _run([python, "-m", "dvc", "repro", "-q"], work)
    lock = (work / "dvc.lock").read_text()

    dry = _run(smk + ["-n", "all"], work)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]

    # Snakemake from scratch, as `make run` on a fresh clone (no outputs, an empty DVC cache), then
    # `dvc commit` as `make run` does: dvc.lock stays byte-identical (Snakemake made the same bytes),
    # DVC finds every stage up to date and runs none
    for out in ("data", "results", "models", "logs", ".snakemake", ".dvc/cache"):
        shutil.rmtree(work / out, ignore_errors=True)
    _run(smk + ["all"], work)
    assert list(work.rglob(".snakemake_timestamp")), "Snakemake marked no directory output"
    _run([python, "-m", "dvc", "commit", "--force", "--quiet"], work)
    assert (work / "dvc.lock").read_text() == lock, "Snakemake's outputs differ from DVC's"
    status = _run([python, "-m", "dvc", "status"], work)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout[-3000:]
    repro = _run([python, "-m", "dvc", "repro"], work)
    assert "Running stage" not in repro.stdout, repro.stdout[-3000:]
    assert yaml.safe_load(lock)["stages"]["acquire"]["outs"]

    # a GPU stage again through the DVC launcher (cluster.launcher; here a shell that leaves a mark,
    # then runs the stage): the same dvc.lock, and no stage is out of date (the launcher is no
    # stage's param and the command in dvc.yaml does not name it)
    assert "pipelines.launch" in yaml.safe_load(lock)["stages"]["train_temporal_seed0"]["cmd"]
    params["cluster"] = {**params.get("cluster", {}), "launcher": "sh -c 'touch launched.mark; exec \"$@\"' launcher"}
    write_params(work / "params.yaml", params)
    _run([python, "-m", "dvc", "repro", "-q", "--force", "--single-item", "train_temporal_seed0"], work)
    assert (work / "launched.mark").is_file(), "the stage did not go through the launcher"
    assert (work / "dvc.lock").read_text() == lock, "dvc.lock differs after the launched run"
    status = _run([python, "-m", "dvc", "status"], work)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout[-3000:]
