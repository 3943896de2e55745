"""Benchmark the data stages at 1x, 4x and 16x the synthetic set: wall time and peak memory per stage.

``python -m pipelines.bench.scale --params params.yaml [--scales 1 4 16] [--keep]`` (``make bench-scale``)

For each scale the stages ``acquire`` → ``audio_features`` → ``motion_features`` → ``windows`` →
``shards`` run one after another as ``python -m pipelines.stages.<stage>`` on the synthetic set
with ``datasets.synthetic.scale`` set (that many times the pieces and sequences, each of the
same length; :func:`pipelines.data.synthetic.plan_synthetic`), in a scratch folder per scale
(deleted afterwards unless ``--keep``; 16x needs about 16 GB of disk). Per stage it records the
wall time, the CPU time and the peak resident memory of the stage's largest process (the stage or
one of its workers; ``wait4``'s ``ru_maxrss``), then the ratios to the smallest scale: time
should grow at most linearly and memory not at all. The wall time ends when the stage's output
is on disk (``sync`` after it, and before it so that earlier stages' writes are not counted):
otherwise the smallest scale's output stays in the page cache while a larger one's waits for
the disk. Writes ``results/bench_scale.json``.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..config import REPO_ROOT, Paths, load_params
from ..files import read_csv, write_json

STAGES = ("acquire", "audio_features", "motion_features", "windows", "shards")
MAX_TIME_RATIO_PER_SCALE = 18 / 16  # 16x the data may take at most 18x the time
MAX_MEMORY_RATIO = 1.5


def run_stage_measured(stage: str, params_file: Path, log: Path) -> dict:
    """Run one stage as a subprocess; its wall time up to its output being on disk, CPU time and
    peak RSS (largest process)."""
    os.sync()  # earlier stages' writes are not this stage's time
    with open(log, "w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", f"pipelines.stages.{stage}", "--params", str(params_file)],
            cwd=REPO_ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        done = time.perf_counter()
        os.sync()  # what the stage wrote reaches the disk (else a small scale's writes hide in the page cache)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"stage {stage} failed (exit {proc.returncode}); its log: {log}")
    return {
        "wall_s": round(wall, 2),
        "sync_s": round(wall - (done - t0), 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def scaled_params(params: dict, *, scale: int, root: Path) -> dict:
    """``params`` on the synthetic set at ``scale``, writing under ``root``."""
    p = copy.deepcopy(params)
    p["dataset"] = "synthetic"
    p["datasets"]["synthetic"]["scale"] = scale
    p.update(data_dir=str(root / "data"), results_dir=str(root / "results"), models_dir=str(root / "models"))
    return p


def data_size(params: dict) -> dict:
    """What the scale produced: pieces, sequences, windows and bytes written."""
    paths = Paths(params)
    rows = read_csv(paths.index / "sequences.csv")
    windows = sum(len(read_csv(f)) for f in paths.windows.glob("w*.csv"))
    size = sum(f.stat().st_size for f in paths.base.rglob("*") if f.is_file())
    return {
        "pieces": len({r["piece"] for r in rows}),
        "sequences": len(rows),
        "windows": windows,
        "data_gb": round(size / 1e9, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workdir", help="scratch folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep each scale's data")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-scale-"))
    runs = []
    for scale in args.scales:
        root = work / f"x{scale}"
        p = scaled_params(params, scale=scale, root=root)
        root.mkdir(parents=True, exist_ok=True)
        params_file = root / "params.yaml"
        params_file.write_text(yaml.safe_dump(p, sort_keys=False))
        stages = {}
        for stage in STAGES:
            stages[stage] = run_stage_measured(stage, params_file, root / f"{stage}.log")
            print(f"  x{scale} {stage}: {stages[stage]}", flush=True)
        runs.append({"scale": scale, **data_size(p), "stages": stages})
        if not args.keep:
            shutil.rmtree(root)
    base = runs[0]
    for run in runs:
        factor = run["scale"] / base["scale"]
        for stage, m in run["stages"].items():
            b = base["stages"][stage]
            m["time_ratio"] = round(m["wall_s"] / b["wall_s"], 2)
            m["memory_ratio"] = round(m["peak_rss_mb"] / b["peak_rss_mb"], 2)
            m["time_within_linear"] = m["time_ratio"] <= max(1.0, factor * MAX_TIME_RATIO_PER_SCALE)
            m["memory_flat"] = m["memory_ratio"] <= MAX_MEMORY_RATIO
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "workers": params["workers"],
        "shards": params["shards"],
        "limits": {
            "time_ratio": f"<= {MAX_TIME_RATIO_PER_SCALE:g} x the scale factor",
            "memory_ratio": f"<= {MAX_MEMORY_RATIO}",
        },
        "runs": runs,
    }
    print(f"Data stages on {result['machine']} ({params['workers']} workers a stage); ratios to x{base['scale']}")
    for run in runs:
        print(
            f"x{run['scale']}: {run['pieces']} pieces, {run['sequences']} sequences, {run['windows']} windows, "
            f"{run['data_gb']} GB"
        )
    head = f"{'stage':<16}" + "".join(f"{'x' + str(r['scale']) + ' s':>10}{'ratio':>7}" for r in runs)
    head += "".join(f"{'x' + str(r['scale']) + ' MB':>10}{'ratio':>7}" for r in runs)
    print(head)
    for stage in STAGES:
        line = f"{stage:<16}"
        line += "".join(f"{r['stages'][stage]['wall_s']:>10.1f}{r['stages'][stage]['time_ratio']:>7.2f}" for r in runs)
        line += "".join(
            f"{r['stages'][stage]['peak_rss_mb']:>10.0f}{r['stages'][stage]['memory_ratio']:>7.2f}" for r in runs
        )
        print(line)
    bad = [
        f"x{r['scale']} {s}: {'time' if not m['time_within_linear'] else 'memory'}"
        for r in runs
        for s, m in r["stages"].items()
        if not (m["time_within_linear"] and m["memory_flat"])
    ]
    print("within limits" if not bad else "over the limits: " + ", ".join(bad))
    print(f"wrote {write_json(Path(params['results_dir']) / 'bench_scale.json', result)}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
