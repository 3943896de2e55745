"""Benchmark MotionBeat training steps: windows/s on 2 CPU threads, and on CUDA when present.

``python -m pipelines.families.motionbeat.bench --params params.yaml [--steps 10] [--threads 2] [--bpm 120]``

Times full training steps of the ``motionbeat`` params (the embodied contrastive loss with its
tempo and beat-jitter negatives, both SRAL terms, forward + backward + AdamW) at the configured
size (``small``) and at ``motionbeat.sizes.paper``, on random tokens shaped like the configured
dataset's: ``train.batch_size`` anchors of ``train.window_frames`` frames cut into beat tokens
at ``--bpm`` (``subdivisions`` per beat), ``audio.n_mels`` + 2 music features and the skeleton's
joints and velocities per token. Each step encodes the anchors plus ``tempo_negatives.count``
and ``jitter_negatives.count`` negatives per anchor, as training does. The speed of the networks
and losses, independent of the data pipeline. A window is one anchor (with its negatives).
Prints a table and writes ``results/<dataset>/bench_motionbeat.json``.
"""

from __future__ import annotations

import torch

from ...config import Paths, load_params
from ...data.skeleton import Skeleton
from ...datasets import motion_fps, skeleton_layout
from ...files import write_json
from ...training.bench_steps import bench_devices, bench_parser, bench_result, optimizer_step, time_steps
from .model import build_motionbeat
from .training import MotionBeatObjective, motionbeat_config


def token_count(params: dict, *, bpm: float) -> int:
    """Beat tokens in one ``train.window_frames`` window at ``bpm``."""
    seconds = params["train"]["window_frames"] / motion_fps(params)
    return max(2, round(seconds * bpm / 60 * params["rhythm"]["subdivisions"]))


def random_tokens(n: int, length: int, *, audio_dim: int, motion_dim: int, subdivisions: int, bpm: float, device):
    """A gathered batch (as :meth:`pipelines.features.beat_windows.TokenSet.gather` returns) of random tokens."""
    phase = (torch.arange(length) / (4 * subdivisions)) % 1.0
    return {
        "audio": torch.randn(n, length, audio_dim, device=device),
        "motion": torch.randn(n, length, motion_dim, device=device),
        "contact": torch.rand(n, length, device=device),
        "onset": torch.rand(n, length, device=device),
        "phase": phase.expand(n, length).contiguous().to(device),
        "tempo": torch.full((n, length), float(bpm), device=device),
        "mask": torch.ones(n, length, dtype=torch.bool, device=device),
    }


def step_rate(params: dict, size: str, device: torch.device, *, steps: int, bpm: float = 120.0) -> dict:
    """Training windows per second of one size on one device."""
    cfg = motionbeat_config(params)
    if size != "small":
        cfg.update(cfg["sizes"][size])
    joints = Skeleton(skeleton_layout(params)).num_joints
    audio_dim, motion_dim = params["audio"]["n_mels"] + 2, joints * 3 * 2
    batch, length = params["train"]["batch_size"], token_count(params, bpm=bpm)
    kt, kj = cfg["tempo_negatives"]["count"], cfg["jitter_negatives"]["count"]
    torch.manual_seed(0)
    za, zm = torch.zeros(audio_dim), torch.zeros(motion_dim)
    model = build_motionbeat(
        cfg, audio_dim=audio_dim, motion_dim=motion_dim, audio_stats=(za, za + 1), motion_stats=(zm, zm + 1)
    )
    model = model.to(device).train()
    objective = MotionBeatObjective(model, cfg, negatives_rule=params["train"]["negatives"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    kw = dict(audio_dim=audio_dim, motion_dim=motion_dim, subdivisions=cfg["subdivisions"], bpm=bpm, device=device)
    data = {
        "piece_id": torch.arange(batch, device=device),
        "music_start": torch.zeros(batch, dtype=torch.long, device=device),
        "anchor": random_tokens(batch, length, **kw),
        "tempo_neg": random_tokens(batch * kt, length, **kw),
        "tempo_ok": torch.ones(batch, kt, dtype=torch.bool, device=device),
        "jitter": random_tokens(batch * kj, length, **kw),
        "jitter_ok": torch.ones(batch, kj, dtype=torch.bool, device=device),
    }
    weights = objective.weights

    step = optimizer_step(lambda: sum(weights[k] * v for k, v in objective(data).items()), opt)
    wall = time_steps(step, steps=steps, device=device)
    return {
        "size": size,
        "device": device.type,
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "batch_size": batch,
        "tokens_per_window": length,
        "encoded_windows_per_anchor": 1 + kt + kj,
        "width": cfg["width"],
        "layers": cfg["layers"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "windows_per_second": round(steps * batch / wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--bpm", type=float, default=120.0, help="tempo that sets the tokens per window")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    devices = bench_devices(args.threads)
    rows = [
        step_rate(params, size, dev, steps=args.steps, bpm=args.bpm) for dev in devices for size in ("small", "paper")
    ]
    result = bench_result(params, threads=args.threads, rows=rows, bpm=args.bpm)
    r0 = rows[0]
    print(
        f"MotionBeat training steps ({params['train']['window_frames']}-frame windows = {r0['tokens_per_window']} "
        f"tokens at {args.bpm:g} bpm, {r0['encoded_windows_per_anchor']} encoded windows per anchor) "
        f"on {result['machine']}, {args.threads} CPU threads"
    )
    for r in rows:
        print(
            f"  {r['size']:<6} {r['device']:<5} width {r['width']:>3} x {r['layers']} layers  batch {r['batch_size']:>3}"
            f"  {r['parameters']:>10,} parameters  {r['windows_per_second']:>9} windows/s"
        )
    print(f"wrote {write_json(Paths(params).results / 'bench_motionbeat.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
