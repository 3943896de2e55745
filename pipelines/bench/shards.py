"""Benchmark the shard codecs side by side, and the DataLoader path with 1 and 2 workers.

``python -m pipelines.bench.shards --params params.yaml [--window 229] [--windows 1024]``

The first ``--windows`` windows of the ``w<window>_train`` shard (all fields) are written again
with every ``shards.compression`` option (same chunking as the params) into a temporary folder,
then read back in chunk-aligned batches of ``--batch-size`` in shuffled order on one core
(median of 3 passes, each chunk decoded once a pass):

- through this project's reader (:meth:`ShardDataset.read_batch`: Blosc chunks are decompressed
  straight into the batch), and through plain h5py slicing (what any h5py user gets);
- decoded MB/s, windows/s, file size (and its ratio to gzip's), and the share of this machine's
  memory-copy bandwidth, measured in the same run (``numpy.copyto`` of 64 MiB buffers).

Then the default codec's file is read by :func:`shard_dataloader` with 0 (in process), 1 and 2
workers. Files are in the page cache, so this measures decoding, not the disk. Writes
``results/<dataset>/bench_shards.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from ..config import Paths, load_params
from ..files import write_json
from .threads import one_core

MEMCPY_BYTES = 64 << 20


def memcpy_bandwidth(*, repeats: int = 10) -> float:
    """Bytes/s of ``numpy.copyto`` between two 64 MiB buffers on this core (after warm-up)."""
    import numpy as np

    src = np.ones(MEMCPY_BYTES, np.uint8)
    dst = np.empty_like(src)
    for _ in range(3):
        np.copyto(dst, src)
    t0 = time.perf_counter()
    for _ in range(repeats):
        np.copyto(dst, src)
    return repeats * MEMCPY_BYTES / (time.perf_counter() - t0)


def recode(src: Path, dst: Path, *, windows: int, chunk_windows: int, compression: str, level: int) -> float:
    """Write the first ``windows`` windows of every field of shard ``src`` to ``dst`` with one
    codec; returns the seconds spent writing."""
    import h5py

    from ..data.shard_codec import compression_settings

    kw = compression_settings(compression=compression, level=level)
    with h5py.File(src) as f:
        fields = [f"{g}/{k}" for g in ("motion", "audio") for k in f[g]]
        arrays = {k: f[k][:windows] for k in fields}
        index = f["index"][:windows]
    t0 = time.perf_counter()
    with h5py.File(dst, "w") as f:
        f.create_dataset("index", data=index)
        for k, a in arrays.items():
            f.create_dataset(k, data=a, chunks=(min(chunk_windows, windows),) + a.shape[1:], **kw)
    return time.perf_counter() - t0


def read_rates(path: Path, *, batch_size: int, rounds: int = 3) -> dict:
    """Windows/s and decoded MB/s of chunk-aligned batches in shuffled order, through
    ``read_batch`` and through plain h5py slicing (its default chunk cache); median of
    ``rounds`` passes, each with a freshly opened file so no chunk comes from a cache."""
    import h5py
    import numpy as np

    from ..data.torch_data import ChunkBatchSampler, ShardDataset

    path.read_bytes()  # the whole file in the page cache before any timing
    fields = ShardDataset(path).fields
    with h5py.File(path) as f:
        n = f[fields[0]].shape[0]
        window_bytes = sum(f[k].dtype.itemsize * int(np.prod(f[k].shape[1:])) for k in fields)
    batches = list(ChunkBatchSampler(n, batch_size=batch_size, shuffle=True, seed=0))

    def reader():
        ds = ShardDataset(path)
        for idx in batches:
            ds.read_batch(idx)

    def h5py_slices():
        with h5py.File(path) as f:
            dsets = [f[k] for k in fields]
            for idx in batches:
                for d in dsets:
                    d[idx[0] : idx[-1] + 1]

    out = {"window_bytes": window_bytes}
    for name, fn in (("reader", reader), ("h5py", h5py_slices)):
        walls = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - t0)
        wall = float(np.median(walls))
        out[name] = {"windows_per_s": n / wall, "mb_per_s": n * window_bytes / wall / 1e6}
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loader_rates(path: Path, *, batch_size: int, workers: list[int], epochs: int = 3) -> dict:
    """Windows/s of :func:`shard_dataloader` per worker count (workers started before timing),
    with the cores the main process and the workers kept busy meanwhile."""
    from ..data.torch_data import ShardDataset, shard_dataloader

    rates = {}
    for n in workers:
        ds = ShardDataset(path)
        loader = shard_dataloader(ds, batch_size=batch_size, shuffle=True, seed=0, num_workers=n)
        for _ in loader:  # first epoch: workers start, files open
            pass
        pids = [w.pid for w in loader.loader._iterator._workers] if n else []
        cpu0, main0, t0 = [_cpu_seconds(p) for p in pids], time.process_time(), time.perf_counter()
        seen = sum(len(b["genre"]) for _ in range(epochs) for b in loader)
        wall = time.perf_counter() - t0
        rates[n] = {
            "windows_per_s": seen / wall,
            "main_cores": (time.process_time() - main0) / wall,
            "worker_cores": sum(_cpu_seconds(p) - c for p, c in zip(pids, cpu0)) / wall,
        }
        del loader
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--window", type=int, default=229)
    parser.add_argument("--windows", type=int, default=1024, help="windows of the train shard to recode")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    one_core("pipelines.bench.shards", argv)
    from ..data.shard_codec import CODECS

    params = load_params(args.params)
    paths = Paths(params)
    cfg = params["shards"]
    src = paths.shard_file(args.window, "train")
    memcpy = memcpy_bandwidth()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        files = {}
        for codec in CODECS:
            files[codec] = Path(tmp) / f"{codec}.h5"
            write_s = recode(
                src,
                files[codec],
                windows=args.windows,
                chunk_windows=cfg["chunk_windows"],
                compression=codec,
                level=cfg["compression_level"],
            )
            rates = read_rates(files[codec], batch_size=args.batch_size)
            rows.append(
                {
                    "codec": codec,
                    "level": cfg["compression_level"] if codec not in ("lzf", "none") else None,
                    "file_mb": files[codec].stat().st_size / 1e6,
                    "write_mb_per_s": args.windows * rates["window_bytes"] / write_s / 1e6,
                    **{f"{how}_{k}": v for how in ("reader", "h5py") for k, v in rates[how].items()},
                    "reader_pct_of_memcpy": 100 * rates["reader"]["mb_per_s"] * 1e6 / memcpy,
                    "h5py_pct_of_memcpy": 100 * rates["h5py"]["mb_per_s"] * 1e6 / memcpy,
                }
            )
            print(f"  {codec}: {rates['reader']['windows_per_s']:.0f} windows/s", flush=True)
        gzip_mb = next(r["file_mb"] for r in rows if r["codec"] == "gzip")
        for r in rows:
            r["size_vs_gzip"] = r["file_mb"] / gzip_mb
        loader = loader_rates(files[cfg["compression"]], batch_size=args.batch_size, workers=args.workers)
    result = {
        "dataset": params["dataset"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "shard": src.name,
        "windows": args.windows,
        "window_bytes": rates["window_bytes"],
        "batch_size": args.batch_size,
        "chunk_windows": cfg["chunk_windows"],
        "default_codec": cfg["compression"],
        "memcpy_mb_per_s": memcpy / 1e6,
        "codecs": rows,
        "dataloader": {str(n): v for n, v in loader.items()},
    }
    print(
        f"Shard codecs on {result['machine']}: first {args.windows} windows of {src.name} "
        f"({rates['window_bytes'] / 1e3:.0f} kB a window), chunk {cfg['chunk_windows']}, "
        f"batch {args.batch_size}, one core; memcpy {memcpy / 1e6:.0f} MB/s"
    )
    head = ("codec", "MB", "x gzip", "windows/s", "MB/s", "% memcpy", "h5py MB/s", "h5py %", "write MB/s")
    print("  ".join(f"{h:>10}" for h in head))
    for r in rows:
        mark = " *" if r["codec"] == cfg["compression"] else ""
        cells = (
            r["codec"] + mark,
            f"{r['file_mb']:.1f}",
            f"{r['size_vs_gzip']:.2f}",
            f"{r['reader_windows_per_s']:.0f}",
            f"{r['reader_mb_per_s']:.0f}",
            f"{r['reader_pct_of_memcpy']:.1f}",
            f"{r['h5py_mb_per_s']:.0f}",
            f"{r['h5py_pct_of_memcpy']:.1f}",
            f"{r['write_mb_per_s']:.0f}",
        )
        print("  ".join(f"{c:>10}" for c in cells))
    print("* the default (shards.compression)")
    base = loader[args.workers[0]]["windows_per_s"]
    for n, v in loader.items():
        print(
            f"shard_dataloader, {n} workers: {v['windows_per_s']:.0f} windows/s "
            f"({v['windows_per_s'] / base:.2f}x {args.workers[0]} workers), cores busy: main "
            f"{v['main_cores']:.2f}, workers {v['worker_cores']:.2f}"
        )
    print(f"wrote {write_json(paths.results / 'bench_shards.json', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
