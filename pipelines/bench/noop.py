"""How long a no-op rerun takes: ``snakemake -n all`` and ``dvc status`` after a finished run.

``python -m pipelines.bench.noop [--repeats 5]``

Run after ``make run`` (nothing to do): each command ``--repeats`` times, one after the other,
with its median and fastest wall time, the time to import the DAG module
(:mod:`pipelines.dag`, which the Snakefile loads) and whether it pulled torch or librosa in
(it must not). Says so when either runner finds work to do (the timing then is not of a no-op).
Writes ``results/bench_noop.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ..config import REPO_ROOT
from ..files import write_json

COMMANDS = {
    "snakemake -n all": [sys.executable, "-m", "snakemake", "-n", "all", "--quiet"],
    "dvc status": [sys.executable, "-m", "dvc", "status"],
    "import pipelines.dag": [
        sys.executable,
        "-c",
        "import sys, pipelines.dag; heavy = [m for m in ('torch', 'librosa') if m in sys.modules]; "
        "sys.exit(f'pipelines.dag imported {heavy}' if heavy else 0)",
    ],
}
IDLE = {"snakemake -n all": "Nothing to be done", "dvc status": "up to date"}


def time_command(cmd: list[str], *, repeats: int) -> tuple[list[float], str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    times, text = [], ""
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[2:])} failed: {out.stderr.strip().splitlines()[-1:]}")
        text = out.stdout + out.stderr
    return times, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    for name, cmd in COMMANDS.items():
        times, text = time_command(cmd, repeats=args.repeats)
        idle = IDLE.get(name)
        rows.append(
            {
                "command": name,
                "median_s": round(statistics.median(times), 3),
                "fastest_s": round(min(times), 3),
                "no_op": None if idle is None else idle in text,
            }
        )
    print(f"No-op rerun on {os.cpu_count()} cores, {args.repeats} runs each")
    for r in rows:
        note = "" if r["no_op"] in (None, True) else "  (found work to do: not a no-op)"
        print(f"  {r['command']:<22} median {r['median_s']:6.2f} s  fastest {r['fastest_s']:6.2f} s{note}")
    print(f"wrote {write_json(REPO_ROOT / 'results' / 'bench_noop.json', {'repeats': args.repeats, 'rows': rows})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
