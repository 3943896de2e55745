"""Put generated music under a dance: pose → audio tokens → waveform (→ the video with that sound).

``python -m pipelines.families.dance2music --video dance.mp4 --checkpoint models/synthetic/dance2music/seed0.pt --out dance_with_music.mp4``
``python -m pipelines.families.dance2music --pose pose.npz --checkpoint … --out music.wav``
``python -m pipelines.families.dance2music --video dance.mp4 --checkpoint … --out music.wav --wav-only``

- ``--video``: MediaPipe Pose runs on every frame (in ``.venv-pose``, built by ``make`` when
  missing: MediaPipe cannot share the main environment). **Several people**: MediaPipe Pose
  follows one person: the most prominent detection when it (re)starts, then that person's
  region frame to frame, so the dancer found first is kept while visible. Frames without a
  person are masked, not dropped. A video with no person in any frame stops with one line.
- ``--pose``: an ``.npz`` with ``world`` (the pose stage's MediaPipe world landmarks) or
  ``joints`` (frames, joints, 3), NaN where nobody was found, and ``fps``.

The pose is resampled to the checkpoint's frame rate (nearest frame) and must have its
skeleton (joints × 6 features). Music is generated window by window (``dance2music.seconds`` of the
checkpoint's training params), each window from the dance's own frames, with the checkpoint's
sampling params unless ``--temperature``/``--top-k``/``--guidance`` say otherwise. The
tokenizer is the one of ``--params`` for the checkpoint's dataset. Output: a wav at the
tokenizer's rate, or with ``--video`` and an ``.mp4`` ``--out`` the video with the generated
music as its sound (ffmpeg, video stream copied). Files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ...config import REPO_ROOT, load_params
from ...errors import InputError

log = logging.getLogger(__name__)


def read_pose(path: Path) -> tuple[np.ndarray, float]:
    """Joints (T, J, 3) with NaN where nobody was found, and the frame rate, from a pose ``.npz``."""
    try:
        with np.load(path) as z:
            key = "world" if "world" in z else "joints" if "joints" in z else None
            if key is None or "fps" not in z:
                raise InputError(path, f"needs 'world' or 'joints' and 'fps'; it has {sorted(z.files)}")
            joints, fps = z[key].astype(np.float64), float(z["fps"])
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable .npz ({exc})") from exc
    if joints.ndim != 3 or joints.shape[2] != 3 or fps <= 0:
        raise InputError(path, f"pose must be (frames, joints, 3) at fps > 0, got {joints.shape} at {fps}")
    return joints, fps


def video_pose(video: Path, *, model_complexity: int = 1) -> tuple[np.ndarray, float]:
    """MediaPipe world landmarks of every frame of ``video`` (run in ``.venv-pose`` when needed)."""
    import importlib.util

    if not video.is_file():
        raise InputError(video, "video not found")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pose.npz"
        code = (
            "import sys, numpy as np; from pathlib import Path; from pipelines.ingest.pose import estimate_pose; "
            "r = estimate_pose(Path(sys.argv[1]), model_complexity=int(sys.argv[3])); "
            "np.savez(sys.argv[2], world=r['world'], fps=r['fps'])"
        )
        if importlib.util.find_spec("mediapipe") is not None:
            python = sys.executable
        else:
            subprocess.run(["make", "-s", "-C", str(REPO_ROOT), ".venv-pose/.installed"], check=True, stdout=sys.stderr)
            python = str(REPO_ROOT / ".venv-pose" / "bin" / "python")
        log.info("pose: MediaPipe on %s", video)
        done = subprocess.run(
            [python, "-c", code, str(video), str(out), str(model_complexity)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise InputError(video, f"pose estimation failed ({lines[-1] if lines else 'no message'})")
        return read_pose(out)


def resample(joints: np.ndarray, *, fps: float, target_fps: float) -> np.ndarray:
    """The nearest frame at each tick of ``target_fps`` over the same duration."""
    if abs(fps - target_fps) < 1e-6:
        return joints
    n = max(1, int(round(len(joints) / fps * target_fps)))
    src = np.minimum(np.round(np.arange(n) / target_fps * fps).astype(int), len(joints) - 1)
    return joints[src]


def generate_music(
    ckpt: dict, tokenizer, joints: np.ndarray, *, sampling: dict, seed: int, progress: bool = True
) -> np.ndarray:
    """Audio (samples,) at the tokenizer's rate for a dance (T, J, 3) at the checkpoint's pose rate."""
    import torch
    from tqdm import tqdm

    from .data import pose_inputs
    from .model import generator_from_checkpoint

    model = generator_from_checkpoint(ckpt)
    fps, seconds = ckpt["arch"]["pose_fps"], ckpt["params"]["dance2music"]["seconds"]
    features, mask = pose_inputs(
        joints, fps=fps, kinetic_min_separation_s=ckpt["params"].get("kinetic_min_separation_s")
    )
    per_window = int(round(seconds * fps))
    generator = torch.Generator().manual_seed(seed)
    codes = []
    starts = range(0, len(features), per_window)
    for s in tqdm(starts, desc="music", unit="window", disable=not progress, file=sys.stderr):
        f, m = features[s : s + per_window], mask[s : s + per_window]
        frames = max(1, int(round(len(f) / fps * model.frame_rate)))
        out = model.generate(
            torch.as_tensor(f)[None],
            torch.as_tensor(m)[None],
            frames=frames,
            temperature=sampling["temperature"],
            top_k=sampling["top_k"],
            guidance=sampling["guidance"],
            generator=generator,
        )
        codes.append(out[0].numpy())
    return tokenizer.detokenize(np.concatenate(codes, axis=1))


def mux(video: Path, wav: Path, out: Path, *, ffmpeg: str) -> Path:
    """``video``'s picture with ``wav`` as its only sound, written to ``out`` atomically."""
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(video), "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0"]
    cmd += ["-c:v", "copy", "-c:a", "aac", "-shortest", str(tmp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        lines = done.stderr.strip().splitlines()
        raise InputError(video, f"ffmpeg could not mux the music ({lines[-1] if lines else 'no message'})")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", type=Path, help="a dance video (MediaPipe finds the pose)")
    src.add_argument("--pose", type=Path, help="a pose .npz: 'world' or 'joints' (frames, joints, 3) and 'fps'")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a train_dance2music checkpoint (seed<K>.pt)")
    parser.add_argument("--out", type=Path, required=True, help=".mp4 (with --video) or .wav")
    parser.add_argument("--wav-only", action="store_true", help="write only the music, even for a video")
    parser.add_argument("--params", default="params.yaml", help="where the tokenizer is found")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--guidance", type=float)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        return run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    from ...ingest.youtube import ffmpeg_exe
    from ...training.checkpoint import load_checkpoint
    from .data import RHYTHM_CHANNELS
    from .media import write_wav
    from .tokenizer import load_tokenizer

    want_video = args.video is not None and not args.wav_only
    if want_video and args.out.suffix.lower() != ".mp4":
        raise InputError(args.out, "with --video the output is an .mp4 (or pass --wav-only for a .wav)")
    if not want_video and args.out.suffix.lower() != ".wav":
        raise InputError(args.out, "the music alone is written as a .wav")
    ckpt = load_checkpoint(args.checkpoint, missing_hint="train one with `snakemake train_dance2music_seed0`")
    if ckpt.get("model") != "dance2music":
        raise InputError(args.checkpoint, f"not a dance-to-music checkpoint (model {ckpt.get('model')!r})")
    params = load_params(args.params)
    params["dataset"] = ckpt["params"]["dataset"]
    tokenizer = load_tokenizer(params)
    layout = ckpt["layout"]
    if (tokenizer.n_codebooks, tokenizer.codebook_size) != (layout["n_codebooks"], layout["codebook_size"]):
        raise InputError(
            args.params,
            f"its tokenizer ({tokenizer.n_codebooks}x{tokenizer.codebook_size}) is not the checkpoint's ({layout['n_codebooks']}x{layout['codebook_size']})",
        )
    source = args.video or args.pose
    joints, fps = video_pose(args.video) if args.video else read_pose(args.pose)
    detected = np.isfinite(joints).all(axis=(1, 2))
    if not detected.any():
        raise InputError(source, f"no person found in any of its {len(joints)} frames")
    rhythm = RHYTHM_CHANNELS if ckpt["params"].get("kinetic_min_separation_s") is not None else 0
    joint_count = (ckpt["arch"]["pose_dim"] - rhythm) // 6
    if joints.shape[1] != joint_count:
        raise InputError(
            source,
            f"pose has {joints.shape[1]} joints; the checkpoint was trained on {joint_count} ({ckpt['params']['dataset']}'s skeleton)",
        )
    log.info("pose: %d frames at %.2f fps, a person in %.0f %% of them", len(joints), fps, 100 * detected.mean())
    joints = resample(joints, fps=fps, target_fps=ckpt["arch"]["pose_fps"])
    sampling = dict(ckpt["params"]["dance2music"]["sampling"])
    for key, value in (("temperature", args.temperature), ("top_k", args.top_k), ("guidance", args.guidance)):
        if value is not None:
            sampling[key] = value
    y = generate_music(ckpt, tokenizer, joints, sampling=sampling, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not want_video:
        write_wav(args.out, y, sr=tokenizer.sample_rate)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wav = write_wav(Path(tmp) / "music.wav", y, sr=tokenizer.sample_rate)
            mux(args.video, wav, args.out, ffmpeg=ffmpeg_exe())
    log.info("%.1f s of music -> %s", len(y) / tokenizer.sample_rate, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
