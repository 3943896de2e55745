"""Wall time of the YouTube ingestion stages on a local SLURM cluster with 1 and 2 job slots.

``python -m pipelines.bench.ingest_scaling [--clips 16] [--fan-out 2] [--slots 1 2]``

Builds a workflow copy in a temporary folder whose clip list cuts ``--clips`` 5-s clips from
copies of the real sample video (``../shared/data/youtube/clip_0_0/video.mp4``), with HPSS stems
and EnCodec's 24 kHz architecture with random weights (offline), and ``cluster.fan_out`` =
``--fan-out`` so each per-clip stage (pose, stems, encodec) fans out into that many jobs plus
a gather. For each ``--slots`` S it starts a single-node SLURM (:mod:`pipelines.tools.local_slurm`,
``--cpus S`` so at most S one-CPU jobs run at once), runs the ingestion part of the DAG (clip list
→ clips → pose, stems → EnCodec codes) through ``snakemake --profile workflow/profiles/slurm``
from a clean state, and stops the cluster. Prints wall seconds per slot count, the speed-up and
the number of jobs, the same ingestion without SLURM (``snakemake --cores S``: the work without
the executor's latency), the number of jobs a 1000-clip list makes at ``fan_out`` 1000, and
writes ``results/bench_ingest_scaling.json``. Root only (slurmd starts the jobs as root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..config import REPO_ROOT, load_params
from ..dag import stages
from ..files import write_json
from ..tools import local_slurm
from ..tools.random_encodec import save_random_encodec

INGEST = ("youtube_clips", "pose", "stems", "encodec")


def workflow_copy(tmp: Path, *, video: Path, clips: int, fan_out: int, encodec: Path) -> Path:
    """A workflow folder whose YouTube clip list makes ``clips`` 5-s clips of copies of ``video``."""
    work = tmp / "wf"
    work.mkdir()
    for item in ("workflow", "pipelines"):
        shutil.copytree(REPO_ROOT / item, work / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("Snakefile", "Makefile", "requirements-pose.txt"):
        shutil.copy2(REPO_ROOT / item, work / item)
    (work / ".venv-pose").symlink_to(REPO_ROOT / ".venv-pose")
    rows = []
    for i in range((clips + 1) // 2):  # two 5-s clips per copy of the 10-s video
        copy = tmp / f"video_{i}.mp4"
        shutil.copy2(video, copy)
        rows += [f"{copy},00:00:00,00:00:05\n", f"{copy},00:00:05,00:00:10\n"]
    (tmp / "links.csv").write_text("".join(rows[:clips]))
    params = load_params(REPO_ROOT / "params.yaml")
    params.update(dataset="youtube", workers=1, data_dir="data", results_dir="results", models_dir="models")
    params["youtube"].update(links=str(tmp / "links.csv"), target="data/youtube/clips")
    params["stems"]["backend"] = "hpss"
    params["encodec"]["model"] = str(encodec)
    params["cluster"]["fan_out"] = fan_out
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


def run_on_slurm(work: Path, *, slots: int, cluster_root: Path) -> dict:
    """Ingestion through the SLURM profile on a fresh ``slots``-CPU cluster: wall seconds and jobs."""
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.rmtree(work / ".snakemake", ignore_errors=True)
    targets = ["data/youtube/clips/pose_summary.json", "data/youtube/clips/codes_summary.json"]
    local_slurm.start(cluster_root, cpus=slots, timeout=90, install=os.geteuid() == 0)
    try:
        env = local_slurm.client_env(cluster_root, {**os.environ, "HF_HUB_OFFLINE": "1"})
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        cmd = [sys.executable, "-m", "snakemake", "--profile", "workflow/profiles/slurm", *targets]
        cmd += ["--jobs", str(max(slots, 2)), "--slurm-init-seconds-before-status-checks", "2"]
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if out.returncode != 0:
            raise RuntimeError(f"snakemake failed:\n{out.stderr[-3000:]}")
        jobs = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%j"], env=env, capture_output=True, text=True)
        n_jobs = len([j for j in jobs.stdout.splitlines() if j.strip()])
    finally:
        local_slurm.stop(cluster_root)
    return {"slots": slots, "wall_s": round(wall, 1), "slurm_jobs": n_jobs}


def run_locally(work: Path, *, cores: int) -> dict:
    """The same ingestion without SLURM (``snakemake --cores``), from a clean state: the work itself,
    without the executor's submission and status-check latency."""
    shutil.rmtree(work / "data", ignore_errors=True)
    shutil.rmtree(work / ".snakemake", ignore_errors=True)
    targets = ["data/youtube/clips/pose_summary.json", "data/youtube/clips/codes_summary.json"]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), *targets],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"snakemake failed:\n{out.stderr[-3000:]}")
    return {"cores": cores, "wall_s": round(time.perf_counter() - t, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--fan-out", type=int, default=2)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--video", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "youtube" / "clip_0_0" / "video.mp4"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ingest_scaling_") as tmp:
        tmp = Path(tmp)
        save_random_encodec(tmp / "encodec")
        work = workflow_copy(tmp, video=args.video, clips=args.clips, fan_out=args.fan_out, encodec=tmp / "encodec")
        rows = [run_on_slurm(work, slots=s, cluster_root=tmp / f"cluster{s}") for s in args.slots]
        local = [run_locally(work, cores=s) for s in args.slots]
    params = load_params(REPO_ROOT / "params.yaml")
    params.update(dataset="youtube")
    params["cluster"]["fan_out"] = 1000
    per_1000 = sum(1 for name in stages(params) if name.split("_part")[0] in INGEST)
    base = rows[0]["wall_s"]
    for r in rows:
        r["speed_up"] = round(base / r["wall_s"], 2)
    result = {
        "clips": args.clips,
        "fan_out": args.fan_out,
        "machine": f"{os.cpu_count()} cores",
        "rows": rows,
        "local": local,
        "jobs_for_1000_clips_at_fan_out_1000": per_1000,
    }
    print(
        f"YouTube ingestion ({args.clips} clips of 5 s, fan_out {args.fan_out}) on a local SLURM, {os.cpu_count()} cores"
    )
    for r in rows:
        print(
            f"  {r['slots']} job slot(s): {r['wall_s']:>7.1f} s  ({r['slurm_jobs']} SLURM jobs, speed-up {r['speed_up']:.2f}x)"
        )
    for r in local:
        print(f"  without SLURM, snakemake --cores {r['cores']}: {r['wall_s']:>7.1f} s")
    print(f"  a 1000-clip list at fan_out 1000: {per_1000} ingestion jobs (the clip list, 3 x 1000 parts, 3 gathers)")
    out = REPO_ROOT / "results" / "bench_ingest_scaling.json"
    print(f"wrote {write_json(out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
