"""Benchmark the data pipeline on the configured dataset (run after ``snakemake all``).

Prints a table and writes ``results/<dataset>/bench.json``:

- audio feature extraction speed, × real time on one core (numba JIT warm-up excluded and
  reported separately);
- motion feature extraction, frames/s on one core;
- minibatch read rate from the HDF5 shards (chunk-aligned batches, and one window at a
  time as a torch DataLoader would) versus slicing windows out of per-sequence npz files
  and versus re-reading the source pkl files;
- peak resident memory of this process.

Usage: ``python -m pipelines.bench.data --params params.yaml [--window 229] [--batches 30]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np

from ..config import Paths, load_params
from ..data.audio_io import read_audio_mono
from ..data.datasets import load_keypoints
from ..data.skeleton import Skeleton
from ..data.torch_data import ShardDataset, shard_loader
from ..datasets import motion_fps, skeleton_layout
from ..features.audio import audio_feature_kwargs, extract_audio_features
from ..features.motion import extract_motion_features
from ..files import read_csv, write_json
from .threads import one_core


def _timeit(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_audio(params: dict, rows: list[dict], n_pieces: int) -> dict:
    a = params["audio"]
    pieces = sorted({(r["piece"], r["audio_path"]) for r in rows})[:n_pieces]
    clips = [
        read_audio_mono(path, min_sample_rate=a["min_sample_rate"], min_seconds=a["min_seconds"]) for _, path in pieces
    ]
    kw = audio_feature_kwargs(params)
    y0, sr0 = clips[0]
    warmup = _timeit(lambda: extract_audio_features(y0, sr_in=sr0, **kw))
    seconds = sum(y.size / sr for y, sr in clips)
    wall = _timeit(lambda: [extract_audio_features(y, sr_in=sr, **kw) for y, sr in clips])
    return {
        "pieces": len(clips),
        "audio_seconds": round(seconds, 2),
        "wall_seconds": round(wall, 3),
        "x_realtime_per_core": round(seconds / wall, 1),
        "first_call_seconds_incl_jit": round(warmup, 2),
    }


def bench_motion(params: dict, rows: list[dict], n_sequences: int) -> dict:
    sk, fps = Skeleton(skeleton_layout(params)), motion_fps(params)
    kps = [load_keypoints(r["motion_path"], r["motion_key"]) for r in rows[:n_sequences]]
    m = params["motion"]
    wall = _timeit(
        lambda: [
            extract_motion_features(
                kp,
                skeleton=sk,
                fps=fps,
                max_nan_fraction=m["max_nan_fraction"],
                kinetic_min_separation_s=m["kinetic_min_separation_s"],
            )
            for kp in kps
        ]
    )
    frames = sum(kp.shape[0] for kp in kps)
    return {
        "sequences": len(kps),
        "frames": frames,
        "wall_seconds": round(wall, 3),
        "frames_per_second_per_core": round(frames / wall),
    }


def bench_reads(params: dict, window: int, batches: int, batch_size: int = 32) -> dict:
    paths = Paths(params)
    fields = ("motion/joints", "motion/velocity", "audio/logmel", "audio/mfcc")
    ds = ShardDataset(paths.shard_file(window, "train"), fields=fields)
    n_windows = min(len(ds), batches * batch_size)
    out = {"window_frames": window, "batch_size": batch_size, "windows_read": n_windows}

    def chunked():
        seen = 0
        for b in shard_loader(ds, batch_size=batch_size, shuffle=True, seed=0):
            seen += b["motion/joints"].shape[0]
            if seen >= n_windows:
                break

    order = np.random.default_rng(0).permutation(len(ds))[:n_windows]
    out["shard_chunk_batches_windows_per_s"] = round(n_windows / _timeit(chunked))
    out["shard_random_windows_per_s"] = round(n_windows / _timeit(lambda: [ds[int(i)] for i in order]))
    meta = [ds.meta(int(i)) for i in order]

    def npz():
        for mt in meta:
            with (
                np.load(paths.motion_features / f"{mt['sequence']}.npz") as m,
                np.load(paths.audio_features / f"{mt['piece']}.npz") as a,
            ):
                s, sa = mt["start_frame"], mt["audio_start_frame"]
                _ = (
                    m["joints"][s : s + window],
                    m["velocity"][s : s + window],
                    a["logmel"][sa : sa + window],
                    a["mfcc"][sa : sa + window],
                )

    out["per_sequence_npz_windows_per_s"] = round(n_windows / _timeit(npz))
    index = {r["sequence"]: r for r in read_csv(paths.index / "sequences.csv")}

    def pkl():
        for mt in meta[: max(1, n_windows // 4)]:
            r = index[mt["sequence"]]
            load_keypoints(r["motion_path"], r["motion_key"])[mt["start_frame"] : mt["start_frame"] + window]

    out["source_pkl_windows_per_s"] = round(max(1, n_windows // 4) / _timeit(pkl))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--window", type=int, default=229)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--pieces", type=int, default=8)
    parser.add_argument("--sequences", type=int, default=40)
    args = parser.parse_args(argv)
    one_core("pipelines.bench.data", argv)
    params = load_params(args.params)
    paths = Paths(params)
    rows = read_csv(paths.index / "sequences.csv")
    result = {
        "dataset": params["dataset"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "audio": bench_audio(params, rows, args.pieces),
        "motion": bench_motion(params, rows, args.sequences),
        "reads": bench_reads(params, args.window, args.batches),
    }
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    a, m, r = result["audio"], result["motion"], result["reads"]
    table = [
        (
            "audio features (x real time, 1 core)",
            a["x_realtime_per_core"],
            f"{a['audio_seconds']} s of audio, {a['pieces']} pieces",
        ),
        ("  first call incl. numba JIT (s)", a["first_call_seconds_incl_jit"], "once per process"),
        ("motion features (frames/s, 1 core)", m["frames_per_second_per_core"], f"{m['frames']} frames"),
        (
            "shard reads, chunk batches (windows/s)",
            r["shard_chunk_batches_windows_per_s"],
            f"w{r['window_frames']}, batch {r['batch_size']}",
        ),
        ("shard reads, one window at a time (windows/s)", r["shard_random_windows_per_s"], "random order"),
        ("per-sequence npz, slice per window (windows/s)", r["per_sequence_npz_windows_per_s"], "random order"),
        ("source pkl, load per window (windows/s)", r["source_pkl_windows_per_s"], "keypoints only"),
        ("peak memory (MB RSS)", result["peak_rss_mb"], "this process"),
    ]
    width = max(len(t[0]) for t in table)
    print(f"benchmark: {params['dataset']} on {result['machine']}")
    for name, value, note in table:
        print(f"{name:<{width}}  {value:>10}  {note}")
    print(f"wrote {write_json(paths.results / 'bench.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
