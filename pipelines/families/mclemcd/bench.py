"""Benchmark MCLEMCD training steps: windows/s on the CPU, and on CUDA when a GPU is present.

``python -m pipelines.families.mclemcd.bench --params params.yaml [--steps 10] [--threads 2]``

Times full phase-two training steps (all four losses, forward + backward + Adam) of the
``mclemcd.main`` variant at both sizes (``small`` and ``paper``) on random windows shaped like
the configured dataset's (``window_frames`` frames, its skeleton, 96 mel bins): the speed of
the networks, independent of the data. Prints a table and writes
``results/<dataset>/bench_mclemcd.json``.
"""

from __future__ import annotations

import torch

from ...config import Paths, load_params
from ...data.skeleton import Skeleton
from ...datasets import skeleton_layout
from ...files import write_json
from ...training.bench_steps import bench_devices, bench_parser, bench_result, optimizer_step, time_steps
from .model import MCLEMCD, loss_terms, resolve_config
from .variants import variant_of


def step_rate(params: dict, size: str, device: torch.device, *, steps: int) -> dict:
    """Training windows per second of one size on one device."""
    cfg = resolve_config(params)
    cfg.update(cfg["sizes"][size])
    variant = variant_of(params)
    joints = Skeleton(skeleton_layout(params)).num_joints
    frames, batch = cfg["window_frames"], cfg["batch_size"]
    torch.manual_seed(0)
    model = (
        MCLEMCD(
            layout=skeleton_layout(params),
            genres=[str(i) for i in range(10)],
            variant=variant,
            cfg=cfg,
            n_mels=96,
            frames=frames,
            mel_mean=torch.zeros(96),
            mel_std=torch.ones(96),
        )
        .to(device)
        .train()
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, frames, joints, 3, device=device)
    mel = torch.randn(batch, frames, 96, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    terms = loss_terms(1, phase1_epochs=0, collaborative=variant.collaborative)

    step = optimizer_step(lambda: sum(model.losses(x, mel, y, terms).values()), opt)
    wall = time_steps(step, steps=steps, device=device)
    return {
        "size": size,
        "device": device.type,
        "variant": variant.name,
        "batch_size": batch,
        "window_frames": frames,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "windows_per_second": round(steps * batch / wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = bench_parser(__doc__).parse_args(argv)
    params = load_params(args.params)
    devices = bench_devices(args.threads)
    rows = [step_rate(params, size, dev, steps=args.steps) for dev in devices for size in ("small", "paper")]
    result = bench_result(params, threads=args.threads, rows=rows)
    print(
        f"MCLEMCD training steps ({rows[0]['variant']}, {rows[0]['window_frames']}-frame windows) on {result['machine']}, {args.threads} CPU threads"
    )
    for r in rows:
        print(
            f"  {r['size']:<6} {r['device']:<5} batch {r['batch_size']:>3}  {r['parameters']:>10,} parameters  "
            f"{r['windows_per_second']:>9} windows/s"
        )
    print(f"wrote {write_json(Paths(params).results / 'bench_mclemcd.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
