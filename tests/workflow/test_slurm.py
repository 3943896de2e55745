"""The DAG through Snakemake's SLURM executor (workflow/profiles/slurm) on a real single-node
SLURM cluster (pipelines/tools/local_slurm.py): the GPU stages go to the gpu partition with one
GPU, the others to the cpu partition without, and the outputs are the bytes of a local run's.

The rule-to-partition mapping is checked without SLURM too (fast)."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import dag
from pipelines.config import REPO_ROOT, load_params
from pipelines.tools import local_slurm

from ..helpers import tiny_dag_params, workflow_copy, write_params


def _env(base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, (cmd, out.stdout[-4000:], out.stderr[-4000:])
    return out


def _outputs(work: Path) -> dict[str, bytes]:
    """Every file the DAG wrote (data, results, models), by relative path; Snakemake's markers left out."""
    return {
        str(f.relative_to(work)): f.read_bytes()
        for top in ("data", "results", "models")
        for f in sorted((work / top).rglob("*"))
        if f.is_file() and f.name != ".snakemake_timestamp"
    }


def _start_cluster(root: Path) -> dict:
    """Start the local cluster (installing slurm-wlm as root when it is missing); fail under CI,
    skip elsewhere, when it cannot start."""
    try:
        return local_slurm.start(root, timeout=90, install=os.geteuid() == 0)
    except local_slurm.SlurmError as err:
        msg = f"local SLURM cannot start: {err}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _jobs(env: dict) -> dict[str, dict]:
    """SLURM's record of the jobs (``scontrol show job``; no slurmdbd), by the rule in their comment."""
    out = subprocess.run(["scontrol", "-o", "show", "job"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    jobs = {}
    for line in out.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        jobs[fields["Comment"].removeprefix("rule_")] = fields
    return jobs


def _dvc_launcher_run(work: Path, params: dict, env: dict) -> dict:
    """DVC takes over Snakemake's run (``dvc commit``), then runs one GPU stage again through the DVC
    launcher (``cluster.launcher``: srun to the gpu partition with one GPU): dvc.lock stays the same
    bytes and nothing is out of date. Returns SLURM's record of the launched job."""
    python = sys.executable
    _run([python, "-m", "pipelines.dag", "--write", "--params", "params.yaml", "--output", "dvc.yaml"], work, env, 60)
    _run([python, "-m", "dvc", "init", "--no-scm", "-q"], work, env, 60)
    _run([python, "-m", "dvc", "commit", "--force", "-q"], work, env, 300)
    lock = (work / "dvc.lock").read_text()
    launcher = "srun --gpus=1 --partition=gpu --job-name=dvc_launcher"
    write_params(work / "params.yaml", {**params, "cluster": {**params["cluster"], "launcher": launcher}})
    stage = "train_temporal_seed0"
    assert dag.stages(params)[stage].gpu
    _run([python, "-m", "dvc", "repro", "-q", "--force", "--single-item", stage], work, env, 600)
    write_params(work / "params.yaml", params)
    assert (work / "dvc.lock").read_text() == lock, "dvc.lock differs after the stage ran through the launcher"
    status = _run([python, "-m", "dvc", "status"], work, env, 120)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout[-3000:]
    out = subprocess.run(["scontrol", "-o", "show", "job"], env=env, capture_output=True, text=True, timeout=30)
    records = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.stdout.splitlines()]
    launched = [r for r in records if r.get("JobName") == "dvc_launcher"]
    assert len(launched) == 1, out.stdout[-3000:]
    return launched[0]


def _sbatch_calls(log: str) -> dict[str, str]:
    """The sbatch command lines Snakemake logged (--verbose), by rule."""
    calls = {}
    for line in log.splitlines():
        if line.startswith("sbatch call: "):
            rule = re.search(r"--comment (\S+)", line).group(1).removeprefix("rule_")
            calls[rule] = line.split(" --wrap=")[0]
    return calls


@pytest.mark.slow  # the tiny DAG twice: on SLURM (about 4 min: job start and status-check latency) and locally
def test_dag_on_slurm_sends_gpu_stages_to_the_gpu_partition_and_matches_a_local_run(tmp_path):
    params = tiny_dag_params(tmp_path)
    assert (params["cluster"]["cpu_partition"], params["cluster"]["gpu_partition"]) == ("cpu", "gpu")
    on_slurm = workflow_copy(tmp_path / "slurm_run", params)
    local = workflow_copy(tmp_path / "local_run", params)
    stages = {s.name: s for s in dag.stages(params).values() if s.target == "all"}
    assert any(s.gpu for s in stages.values()) and not all(s.gpu for s in stages.values())

    root = tmp_path / "cluster"
    started = time.monotonic()
    state = _start_cluster(root)
    try:
        assert set(state) == set(local_slurm.DAEMONS)
        env = local_slurm.client_env(root, _env())
        sinfo = _run(["sinfo", "-h", "-N", "-o", "%P %T %G"], on_slurm, env, 30).stdout.split("\n")
        assert {"cpu* idle gpu:1", "gpu idle gpu:1"} <= set(sinfo), sinfo
        # --slurm-init-seconds-before-status-checks: the first status check after 2 s, not 40 s,
        # as the tiny stages end in seconds; --verbose logs each sbatch command line
        smk = [sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/slurm", "all", "--jobs", "2"]
        smk += ["--slurm-keep-successful-logs", "--slurm-init-seconds-before-status-checks", "2", "--verbose"]
        run = _run(smk, on_slurm, env, timeout=1500)
        slurm_seconds = time.monotonic() - started
        jobs = _jobs(env)
        launched = _dvc_launcher_run(on_slurm, params, env)
    finally:
        stopped = local_slurm.stop(root)
    # the daemons this test started are gone, by the PIDs it started
    assert sorted(stopped) == sorted(local_slurm.DAEMONS)
    for name, entry in state.items():
        assert not local_slurm.is_running(entry), name
        assert not Path(f"/proc/{entry['pid']}").exists(), f"{name} {entry['pid']} left behind"

    # every stage ran as a SLURM job: GPU stages in the gpu partition with one GPU, the others in
    # the cpu partition without one (SLURM's own record, and the sbatch lines Snakemake ran)
    assert set(jobs) == set(stages), sorted(set(jobs) ^ set(stages))
    calls = _sbatch_calls(run.stdout + run.stderr)
    assert set(calls) == set(stages), sorted(set(calls) ^ set(stages))
    for name, stage in stages.items():
        job, call = jobs[name], calls[name]
        assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0"), (name, job)
        assert job["Partition"] == ("gpu" if stage.gpu else "cpu"), (name, job["Partition"])
        assert ("gres:gpu:1" in job.get("TresPerJob", "")) == stage.gpu, (name, job.get("TresPerJob"))
        assert (" -p gpu " if stage.gpu else " -p cpu ") in call, call
        assert ("--gpus=1" in call) == stage.gpu, call
        assert (Path(on_slurm) / ".snakemake" / "slurm_logs" / f"rule_{name}" / f"{job['JobId']}.log").exists()

    # the DVC launcher sent the GPU stage to the gpu partition with a GPU, and dvc.lock did not change
    assert (launched["JobState"], launched["ExitCode"]) == ("COMPLETED", "0:0"), launched
    assert launched["Partition"] == "gpu" and "gpu:1" in launched.get("TresPerJob", ""), launched

    # the same files as a local run of the same params, byte for byte
    _run([sys.executable, "-m", "snakemake", "--cores", "2", "all"], local, _env(), timeout=1500)
    got, want = _outputs(on_slurm), _outputs(local)
    assert sorted(got) == sorted(want), sorted(set(got) ^ set(want))
    assert any(p.startswith("data/synthetic/shards/") for p in want) and "results/synthetic/report.html" in want
    differ = [p for p in want if got[p] != want[p]]
    assert not differ, differ
    print(f"SLURM run (cluster start to stop): {slurm_seconds:.0f} s")


def test_gpu_stages_ask_for_the_gpu_partition_the_others_for_the_cpu_partition(tmp_path):
    """What the SLURM executor reads: the resource slurm_partition of each rule, from params.yaml's
    `cluster` section (none without one), and gpu=1 for the GPU stages (which it turns into --gpus=1)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    params = load_params(REPO_ROOT / "params.yaml")
    params["cluster"] = {"cpu_partition": "short", "gpu_partition": "a100"}
    without = {k: v for k, v in params.items() if k != "cluster"}
    for label, p in (("cluster", params), ("no cluster", without)):
        work = tmp_path / label.replace(" ", "_")
        work.mkdir()
        shutil.copytree(REPO_ROOT / "workflow", work / "workflow")
        (work / "pipelines").symlink_to(REPO_ROOT / "pipelines")
        shutil.copy(REPO_ROOT / "Snakefile", work / "Snakefile")
        write_params(work / "params.yaml", p)
        with SnakemakeApi(OutputSettings(quiet=True)) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(),
                config_settings=ConfigSettings(),
                snakefile=work / "Snakefile",
                workdir=work,
            )
            rules = {r.name: r for r in wf._workflow.rules}
        stages = dag.stages(p)
        assert any(s.gpu for s in stages.values())
        for name, stage in stages.items():
            resources = rules[name].resources
            assert resources["gpu"] == int(stage.gpu), name
            if label == "cluster":
                assert resources["slurm_partition"] == ("a100" if stage.gpu else "short"), name
            else:
                assert "slurm_partition" not in resources, name


def test_local_cluster_config(tmp_path):
    """The files local_slurm writes (no daemon started): two partitions on one node with one GPU,
    a job-slot limit by CPU count, and the srun shim that gives job steps their SLURM_CONF back."""
    conf = local_slurm.write_config(tmp_path / "c", cpus=1, memory_mb=2000, nodename="n1")
    text = conf.read_text()
    assert re.search(r"^NodeName=n1 .*CPUs=1 .*RealMemory=2000 Gres=gpu:1", text, re.M)
    assert "PartitionName=cpu Nodes=n1 Default=YES" in text and "PartitionName=gpu Nodes=n1 " in text
    assert "MinJobAge=3600" in text and "AccountingStorageType=accounting_storage/none" in text
    assert (conf.parent / "gres.conf").read_text() == "NodeName=n1 Name=gpu File=/dev/null\n"
    key = conf.parent / "munge" / "munge.key"
    assert key.stat().st_size == 1024 and key.stat().st_mode & 0o777 == 0o400
    env = local_slurm.client_env(conf.parent, {"PATH": "/usr/bin"})
    assert env["SLURM_CONF"] == str(conf) and env["PATH"].split(os.pathsep)[0] == str(conf.parent / "bin")
    shim = (conf.parent / "bin" / "srun").read_text()
    assert f"SLURM_CONF={conf}" in shim and "exec " in shim
