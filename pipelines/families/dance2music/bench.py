"""Benchmark dance-to-music generation: training steps and generation, with and without the KV cache.

``python -m pipelines.families.dance2music.bench --params params.yaml [--steps 2] [--threads 2]``

On random pose windows shaped like the configured dataset's (``dance2music.seconds`` of frames at
its motion rate, its skeleton's joints and velocities) and random tokens of the configured
tokenizer's layout (``dance2music.tokenizer``; ``token_layout``), with the ``generate`` params at
both sizes (``small`` and ``sizes.paper``):

- training: teacher-forced steps (cross-entropy, backward, AdamW), windows/s;
- generation: one window's tokens (``seconds × frame_rate`` frames × K codebooks) sampled with
  the configured sampling params, with the KV cache and without it (every step reruns the
  prefix: the quadratic reference), as token frames/s and seconds of audio per second; the
  ratio of the two shows what the cache saves (``--no-cache-seconds`` limits the uncached run);
- rendering: seconds of audio per second of ``detokenize`` for the offline tokenizer
  (Griffin-Lim; random centroids, same cost as fitted ones).

CPU with ``--threads`` threads (default 2), and CUDA when present. Prints a table and writes
``results/<dataset>/bench_dance2music.json``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ...config import Paths, load_params
from ...data.skeleton import Skeleton
from ...datasets import motion_fps, skeleton_layout
from ...files import write_json
from ...training.bench_steps import bench_devices, bench_parser, bench_result, optimizer_step, time_steps
from .data import RHYTHM_CHANNELS
from .model import build_generator, generator_config
from .tokenizer import MelKMeansTokenizer, token_layout


def _shapes(params: dict) -> dict:
    fps = motion_fps(params)
    joints = Skeleton(skeleton_layout(params)).num_joints
    layout = token_layout(params)
    seconds = params["dance2music"]["seconds"]
    return {
        "pose_fps": fps,
        "pose_frames": int(round(seconds * fps)),
        "pose_dim": joints * 6 + (RHYTHM_CHANNELS if params["dance2music"]["rhythm_pulse"] else 0),
        "token_frames": int(round(seconds * layout["frame_rate"])),
        **layout,
    }


def train_rate(params: dict, size: str, device: torch.device, *, steps: int) -> dict:
    """Teacher-forced training windows per second."""
    sh, cfg = _shapes(params), generator_config(params, size)
    torch.manual_seed(0)
    model = build_generator(params, pose_dim=sh["pose_dim"], pose_fps=sh["pose_fps"], size=size).to(device).train()
    B = cfg["batch_size"]
    pose = torch.randn(B, sh["pose_frames"], sh["pose_dim"], device=device)
    mask = torch.ones(B, sh["pose_frames"], dtype=torch.bool, device=device)
    codes = torch.randint(0, sh["codebook_size"], (B, sh["n_codebooks"], sh["token_frames"]), device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    step = optimizer_step(lambda: model(pose, mask, codes)["loss"], opt)
    wall = time_steps(step, steps=steps, device=device, warmup=1)
    return {
        "size": size,
        "device": device.type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "batch_size": B,
        "training_windows_per_second": round(steps * B / wall, 2),
    }


def generation_rate(params: dict, size: str, device: torch.device, *, use_cache: bool, max_seconds: float) -> dict:
    """Token frames generated per second for one window (or the first ``max_seconds`` of it)."""
    sh = _shapes(params)
    torch.manual_seed(0)
    model = build_generator(params, pose_dim=sh["pose_dim"], pose_fps=sh["pose_fps"], size=size).to(device).eval()
    frames = min(sh["token_frames"], int(round(max_seconds * sh["frame_rate"])))
    pose = torch.randn(1, sh["pose_frames"], sh["pose_dim"], device=device)
    mask = torch.ones(1, sh["pose_frames"], dtype=torch.bool, device=device)
    s = params["dance2music"]["sampling"]
    kw = dict(temperature=s["temperature"], top_k=s["top_k"], guidance=s["guidance"], use_cache=use_cache)
    model.generate(pose, mask, frames=4, **kw)  # warm-up
    gen = torch.Generator().manual_seed(0)
    wall = time_steps(
        lambda: model.generate(pose, mask, frames=frames, generator=gen, **kw), steps=1, device=device, warmup=0
    )
    return {
        "size": size,
        "device": device.type,
        "kv_cache": use_cache,
        "token_frames": frames,
        "token_frames_per_second": round(frames / wall, 1),
        "audio_seconds_per_second": round(frames / sh["frame_rate"] / wall, 3),
    }


def render_rate(params: dict) -> dict | None:
    """Seconds of audio per second of the offline tokenizer's ``detokenize`` (Griffin-Lim)."""
    if params["dance2music"]["tokenizer"] != "mel_kmeans":
        return None
    cfg, sh = params["dance2music"]["mel_kmeans"], _shapes(params)
    rng = np.random.default_rng(0)
    tok = MelKMeansTokenizer(
        centroids=rng.normal(-4, 1, size=(cfg["n_codebooks"], cfg["codebook_size"], cfg["n_mels"])).astype(np.float32),
        sample_rate=cfg["sample_rate"],
        n_fft=cfg["n_fft"],
        hop_length=cfg["hop_length"],
        griffin_lim_iters=cfg["griffin_lim_iters"],
    )
    codes = rng.integers(0, cfg["codebook_size"], size=(cfg["n_codebooks"], sh["token_frames"]))
    t = time.perf_counter()
    audio = tok.detokenize(codes)
    wall = time.perf_counter() - t
    return {
        "griffin_lim_iters": cfg["griffin_lim_iters"],
        "audio_seconds_per_second": round(audio.size / tok.sample_rate / wall, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.set_defaults(steps=2)  # a paper-size step takes tens of seconds on 2 CPU cores
    parser.add_argument("--no-cache-seconds", type=float, default=2.0, help="audio generated without the KV cache, s")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    devices = bench_devices(args.threads)
    sizes = ("small", "paper")
    train = [train_rate(params, size, dev, steps=args.steps) for dev in devices for size in sizes]
    gen = []
    for dev in devices:
        for size in sizes:
            cached = generation_rate(params, size, dev, use_cache=True, max_seconds=args.no_cache_seconds)
            plain = generation_rate(params, size, dev, use_cache=False, max_seconds=args.no_cache_seconds)
            cached["speedup_over_no_cache"] = round(
                cached["token_frames_per_second"] / plain["token_frames_per_second"], 2
            )
            full = generation_rate(params, size, dev, use_cache=True, max_seconds=params["dance2music"]["seconds"])
            gen += [plain, cached, full]
    sh = _shapes(params)
    result = bench_result(
        params,
        threads=args.threads,
        rows=train,
        generation=gen,
        rendering=render_rate(params),
        tokenizer=params["dance2music"]["tokenizer"],
        window={k: sh[k] for k in ("pose_frames", "pose_fps", "token_frames", "n_codebooks", "codebook_size")},
    )
    print(
        f"Dance-to-music ({params['dance2music']['tokenizer']} tokens: {sh['n_codebooks']} x {sh['token_frames']} per "
        f"{params['dance2music']['seconds']:g}-s window; {sh['pose_frames']} pose frames) on {result['machine']}, "
        f"{args.threads} CPU threads"
    )
    for r in train:
        print(
            f"  train     {r['size']:<6} {r['device']:<5} {r['parameters']:>11,} parameters  batch {r['batch_size']:>3}"
            f"  {r['training_windows_per_second']:>8} windows/s"
        )
    for r in gen:
        extra = f"  ({r['speedup_over_no_cache']}x the uncached)" if "speedup_over_no_cache" in r else ""
        print(
            f"  generate  {r['size']:<6} {r['device']:<5} cache {'on ' if r['kv_cache'] else 'off'} "
            f"{r['token_frames']:>4} frames  {r['token_frames_per_second']:>8} frames/s  "
            f"{r['audio_seconds_per_second']:>7} s audio/s{extra}"
        )
    if result["rendering"]:
        print(
            f"  render    Griffin-Lim ({result['rendering']['griffin_lim_iters']} iterations) "
            f"{result['rendering']['audio_seconds_per_second']} s audio/s"
        )
    print(f"wrote {write_json(Paths(params).results / 'bench_dance2music.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
