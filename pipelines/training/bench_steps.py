"""Timing of training steps, shared by the model benchmarks."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import torch


def optimizer_step(loss_fn: Callable[[], torch.Tensor], opt: torch.optim.Optimizer) -> Callable[[], None]:
    """One training step: the loss, its gradients, an optimizer update."""

    def step() -> None:
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def time_steps(step: Callable[[], None], *, steps: int, device: torch.device, warmup: int = 2) -> float:
    """Wall seconds of ``steps`` calls of ``step`` after ``warmup`` untimed ones (CUDA synchronised)."""
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """The options every training-step benchmark takes: ``--params``, ``--steps``, ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2: this project's laptop)")
    return parser


def bench_devices(threads: int) -> list[torch.device]:
    """The CPU with ``threads`` threads, and CUDA when present."""
    torch.set_num_threads(threads)
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def bench_result(params: dict, *, threads: int, rows: list[dict], **extra) -> dict:
    """The JSON of a training-step benchmark: dataset, machine, threads, CUDA device, rows."""
    return {
        "dataset": params["dataset"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": threads,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        **extra,
        "rows": rows,
    }
