"""Benchmark the ingestion stages on the real sample clip (``../shared/data/youtube/clip_0_0``).

Prints a table and writes ``results/bench_ingest.json``:

- pose: MediaPipe frames/s on one core (run in ``.venv-pose``), and the pose stage's clip loop on
  4 copies of the clip with 1 and 2 worker processes (clips/s, speed-up);
- stem separation (HPSS; HT-Demucs and Spleeter 4 stems with random weights of the real
  architectures, Spleeter run in ``.venv-spleeter``) and EnCodec encoding (24 kHz architecture,
  random weights: the speed of the real network, not of trained weights), × real time;
- download throughput of :func:`pipelines.ingest.download.fetch` from a server on 127.0.0.1.

Usage: ``python -m pipelines.bench.ingest [--clip DIR] [--download-mb 64]``
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from ..config import REPO_ROOT
from ..data.audio_io import read_audio_mono
from ..files import atomic_file
from ..ingest.download import fetch
from ..ingest.stems import hpss_stems


def _in_venv(venv: str, code: str, arg: Path, env: dict) -> tuple[float, float] | str:
    """Run ``code`` (which prints two numbers last) in a stage-only environment; the numbers,
    or why it was skipped."""
    python = REPO_ROOT / venv / "bin" / "python"
    if not python.exists():
        return f"{python} missing (make setup)"
    out = subprocess.run(
        [str(python), "-c", code, str(arg)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    a, b = out.stdout.split()[-2:]
    return float(a), float(b)


def bench_pose(clip: Path) -> dict:
    code = (
        "import time,sys; from pathlib import Path; from pipelines.ingest.pose import estimate_pose; "
        "t=time.perf_counter(); r=estimate_pose(Path(sys.argv[1]), model_complexity=1); "
        "print(len(r['detected']), time.perf_counter()-t)"
    )
    got = _in_venv(".venv-pose", code, clip / "video.mp4", {"OMP_NUM_THREADS": "1"})
    if isinstance(got, str):
        return {"skipped": got}
    frames, seconds = got
    return {"frames": int(frames), "seconds": round(seconds, 2), "frames_per_second": round(frames / seconds, 1)}


def bench_pose_workers(clip: Path, *, clips: int = 4, workers: tuple[int, ...] = (1, 2)) -> dict:
    """The pose stage's per-clip loop (:func:`pipelines.stages.pose.process_clips`) on ``clips``
    copies of the clip, with each number of worker processes: clips per second and the speed-up.
    Each worker count runs in a fresh process (a process pool forked from one that has run
    MediaPipe loses its workers)."""
    code = (
        "import sys, time, shutil, tempfile; from pathlib import Path; "
        "from pipelines.config import REPO_ROOT, load_params; from pipelines.stages.pose import process_clips; "
        "cfg = load_params(REPO_ROOT / 'params.yaml')['pose']; video = Path(sys.argv[1]); w = int(sys.argv[2])\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        f"    for k in range({clips}):\n"
        "        d = Path(tmp) / f'clip_{k}_0'; d.mkdir(); shutil.copy(video, d / 'video.mp4')\n"
        "    t = time.perf_counter(); process_clips(Path(tmp), cfg, workers=w); print(time.perf_counter() - t)"
    )
    python = REPO_ROOT / ".venv-pose" / "bin" / "python"
    if not python.exists():
        return {"skipped": f"{python} missing (make setup)"}
    seconds = []
    for w in workers:
        run = subprocess.run(
            [str(python), "-c", code, str(clip / "video.mp4"), str(w)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            check=True,
        )
        seconds.append(float(run.stdout.split()[-1]))
    return {
        "clips": clips,
        "rows": [
            {
                "workers": w,
                "seconds": round(s, 1),
                "clips_per_second": round(clips / s, 3),
                "speed_up": round(seconds[0] / s, 2),
            }
            for w, s in zip(workers, seconds)
        ],
    }


def bench_hpss(y: np.ndarray, sr: int) -> dict:
    t = time.perf_counter()
    hpss_stems(y, sr=sr, margin=1.0, bass_cutoff_hz=200.0)
    wall = time.perf_counter() - t
    return {
        "audio_seconds": round(y.size / sr, 2),
        "wall_seconds": round(wall, 3),
        "x_realtime": round(y.size / sr / wall, 1),
    }


def bench_demucs(y: np.ndarray, sr: int) -> dict:
    import torch
    from demucs_infer.htdemucs import HTDemucs

    from ..ingest.stems import demucs_stems

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"]).eval()  # real architecture, random weights
    t = time.perf_counter()
    demucs_stems(model, y, sr=sr)
    wall = time.perf_counter() - t
    return {
        "audio_seconds": round(y.size / sr, 2),
        "wall_seconds": round(wall, 3),
        "x_realtime": round(y.size / sr / wall, 2),
    }


def bench_spleeter(clip: Path) -> dict:
    code = (
        "import sys,time,tempfile; from pathlib import Path; from pipelines.data.audio_io import read_audio_mono; "
        "from pipelines.tools.spleeter_random import write_random_checkpoint; "
        "from pipelines.ingest.stems import load_spleeter, spleeter_stems; "
        "y,sr=read_audio_mono(Path(sys.argv[1]),min_sample_rate=8000,min_seconds=1); d=tempfile.mkdtemp(); "
        "write_random_checkpoint(d,4); s=load_spleeter(d,n_stems=4); "
        "spleeter_stems(s,y[:sr],sr=sr,n_stems=4,cfg={}); t=time.perf_counter(); "
        "spleeter_stems(s,y,sr=sr,n_stems=4,cfg={}); print(y.size/sr, time.perf_counter()-t)"
    )
    got = _in_venv(".venv-spleeter", code, clip / "audio.wav", {"TF_CPP_MIN_LOG_LEVEL": "2"})
    if isinstance(got, str):
        return {"skipped": got}
    audio_s, wall = got
    return {"audio_seconds": round(audio_s, 2), "wall_seconds": round(wall, 3), "x_realtime": round(audio_s / wall, 2)}


def bench_encodec(y: np.ndarray, sr: int) -> dict:
    import torch
    from transformers import EncodecConfig, EncodecModel

    from ..ingest.encodec import encode

    torch.manual_seed(0)
    model = EncodecModel(EncodecConfig()).eval()  # the 24 kHz architecture, random weights
    encode(model, y[:sr], sr=sr, bandwidth_kbps=1.5)  # warm-up
    t = time.perf_counter()
    codes = encode(model, y, sr=sr, bandwidth_kbps=1.5)
    wall = time.perf_counter() - t
    return {
        "audio_seconds": round(y.size / sr, 2),
        "codes_shape": list(codes.shape),
        "wall_seconds": round(wall, 3),
        "x_realtime": round(y.size / sr / wall, 1),
        "torch_threads": torch.get_num_threads(),
    }


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def bench_download(megabytes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "blob.bin"
        src.write_bytes(np.random.default_rng(0).bytes(megabytes << 20))
        handler = functools.partial(_QuietHandler, directory=tmp)
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            t = time.perf_counter()
            fetch(
                f"http://127.0.0.1:{srv.server_address[1]}/blob.bin",
                Path(tmp) / "out" / "blob.bin",
                retries=0,
                progress=False,
            )
            wall = time.perf_counter() - t
        finally:
            srv.shutdown()
            srv.server_close()
    return {"megabytes": megabytes, "wall_seconds": round(wall, 3), "mb_per_second": round(megabytes / wall, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=str(REPO_ROOT.parent / "shared" / "data" / "youtube" / "clip_0_0"))
    parser.add_argument("--download-mb", type=int, default=64)
    parser.add_argument("--out", default="results/bench_ingest.json")
    args = parser.parse_args(argv)
    clip = Path(args.clip)
    y, sr = read_audio_mono(clip / "audio.wav", min_sample_rate=8000, min_seconds=1)
    import librosa

    y24 = librosa.resample(y, orig_sr=sr, target_sr=24000)
    result = {
        "clip": str(clip),
        "pose": bench_pose(clip),
        "pose_workers": bench_pose_workers(clip),
        "hpss": bench_hpss(y24, 24000),
        "demucs": bench_demucs(y24, 24000),
        "spleeter": bench_spleeter(clip),
        "encodec": bench_encodec(y24, 24000),
        "download": bench_download(args.download_mb),
    }
    rows = [
        ("pose, MediaPipe (frames/s, 1 thread)", result["pose"].get("frames_per_second", "n/a")),
        *(
            (f"pose stage, {r['workers']} worker(s) (clips/s, speed-up)", f"{r['clips_per_second']} {r['speed_up']}x")
            for r in result["pose_workers"].get("rows", [])
        ),
        ("stems, HPSS (x real time)", result["hpss"]["x_realtime"]),
        ("stems, HT-Demucs (x real time)", result["demucs"]["x_realtime"]),
        ("stems, Spleeter 4 stems (x real time)", result["spleeter"].get("x_realtime", "n/a")),
        ("EnCodec 24 kHz encode (x real time)", result["encodec"]["x_realtime"]),
        ("download from 127.0.0.1 (MB/s)", result["download"]["mb_per_second"]),
    ]
    for name, value in rows:
        print(f"{name:<40} {value:>10}")
    out = Path(args.out)
    with atomic_file(out, "w") as fh:
        fh.write(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
