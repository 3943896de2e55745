"""Step time of every model family on the CPU and on CUDA: ``make gpu-check`` on a CUDA node.

``python -m pipelines.bench.gpu_check --params params.yaml [--steps 5] [--threads 2] [--sizes small paper] [--amp]``

One full training step (forward, backward, optimizer update) of each trained model, on random
inputs shaped like the configured dataset's, timed by the benchmarks' own step functions:
every model family's (:attr:`pipelines.family.Family.step_rate`; the temporal model for retrieval), at each
``--sizes`` (``small``: the defaults; ``paper``: the paper-size configs meant for GPU nodes), on
the CPU (``--threads`` threads) and on CUDA when torch sees a device (otherwise the CUDA column
says so). ``--amp`` times the CUDA steps under bfloat16 autocast as ``cuda.amp`` would train.
Prints a table (ms per step, windows per second, CUDA's speed-up) and writes
``results/<dataset>/bench_gpu_check.json``.
"""

from __future__ import annotations

import contextlib
import importlib

import torch

from ..config import Paths, load_params
from ..files import write_json
from ..registry import FAMILIES
from ..training.bench_steps import bench_devices, bench_parser, bench_result


def family_rates(params: dict, size: str, device: torch.device, *, steps: int) -> dict[str, dict]:
    """One row per model family with a training step (:attr:`pipelines.family.Family.step_rate`)."""
    rates = {}
    for family in FAMILIES:
        if family.step_rate is not None:
            module, _, function = family.step_rate.partition(":")
            rates[family.name] = getattr(importlib.import_module(module), function)(params, size, device, steps=steps)
    return rates


def windows_per_second(row: dict) -> float:
    return row.get("windows_per_second", row.get("training_windows_per_second"))


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.set_defaults(steps=5)
    parser.add_argument("--sizes", nargs="+", default=["small", "paper"], choices=["small", "paper"])
    parser.add_argument("--amp", action="store_true", help="CUDA steps under bfloat16 autocast")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    devices = bench_devices(args.threads)
    rows = []
    for size in args.sizes:
        for device in devices:
            amp = args.amp and device.type == "cuda"
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
            with ctx:
                rates = family_rates(params, size, device, steps=args.steps)
            for model, r in rates.items():
                wps = windows_per_second(r)
                rows.append(
                    {
                        "model": model,
                        "size": size,
                        "device": device.type,
                        "amp": amp,
                        "batch_size": r["batch_size"],
                        "windows_per_second": wps,
                        "ms_per_step": round(1000 * r["batch_size"] / wps, 1),
                    }
                )
    result = bench_result(params, threads=args.threads, rows=rows, steps=args.steps)
    cuda = result["cuda"] or "no CUDA device visible to torch (run `make gpu-check` on a CUDA node)"
    print(f"Training step per model on {result['machine']} ({args.threads} CPU threads) and CUDA: {cuda}")
    print(f"  {'model':<12} {'size':<6} {'CPU ms/step':>12} {'CUDA ms/step':>13} {'speed-up':>9}")
    for r in (r for r in rows if r["device"] == "cpu"):
        g = next(
            (x for x in rows if x["device"] == "cuda" and x["model"] == r["model"] and x["size"] == r["size"]), None
        )
        gpu = f"{g['ms_per_step']:>13}" if g else f"{'—':>13}"
        speed = f"{r['ms_per_step'] / g['ms_per_step']:>8.1f}x" if g else f"{'—':>9}"
        print(f"  {r['model']:<12} {r['size']:<6} {r['ms_per_step']:>12} {gpu} {speed}")
    print(f"wrote {write_json(Paths(params).results / 'bench_gpu_check.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
