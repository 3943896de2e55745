"""Media of dance-to-music samples for the report: spectrograms, wav files, and stick-figure videos
of the dance muxed with a soundtrack (matplotlib draws the frames, ffmpeg encodes them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from ...data.skeleton import Skeleton  # noqa: E402
from ...files import atomic_file  # noqa: E402


def write_wav(path: Path, y: np.ndarray, *, sr: int) -> Path:
    """16-bit PCM mono wav of float audio in [-1, 1] (peak-normalised when it clips), written atomically."""
    y = np.asarray(y, dtype=np.float64)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    with atomic_file(Path(path), "wb") as fh:
        sf.write(fh, y / peak if peak > 1.0 else y, int(sr), format="WAV", subtype="PCM_16")
    return Path(path)


def spectrogram_figure(path: Path, *, logmels: dict[str, np.ndarray], frame_rate: float, title: str) -> Path:
    """Log-mel spectrograms (frames, n_mels) one above the other, on one colour scale."""
    lo = min(float(np.percentile(m, 2)) for m in logmels.values())
    hi = max(float(np.percentile(m, 99.5)) for m in logmels.values())
    fig, axes = plt.subplots(len(logmels), 1, figsize=(6, 1.4 * len(logmels)), dpi=100, squeeze=False)
    for ax, (name, m) in zip(axes[:, 0], logmels.items()):
        ax.imshow(
            m.T, origin="lower", aspect="auto", vmin=lo, vmax=hi, extent=(0, m.shape[0] / frame_rate, 0, m.shape[1])
        )
        ax.set_ylabel("mel", fontsize=7)
        ax.set_title(name, fontsize=8, loc="left")
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("s", fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    with atomic_file(Path(path), "wb") as fh:
        fig.savefig(fh, format="png", metadata={"Software": None})
    plt.close(fig)
    return Path(path)


def stick_figure_video(
    path: Path,
    *,
    positions: np.ndarray,
    skeleton: Skeleton,
    fps: float,
    audio: Path,
    ffmpeg: str,
    video_fps: float = 30.0,
    size_px: int = 240,
) -> Path:
    """An mp4 (H.264 + AAC) of the dance drawn from the front with the skeleton's edges, with ``audio`` as sound.

    ``positions`` (T, J, 3) at ``fps``; frames without a pose (NaN) are drawn empty. The video has
    ``video_fps`` frames per second and lasts as long as the dance.
    """
    up = skeleton.up_axis
    side = 0 if up != 0 else 2
    finite = positions[np.isfinite(positions).all(axis=(1, 2))]
    if finite.size:
        lo, hi = finite[..., [side, up]].reshape(-1, 2).min(0), finite[..., [side, up]].reshape(-1, 2).max(0)
    else:
        lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    centre, half = (lo + hi) / 2, float(max(hi - lo)) / 2 * 1.1 + 1e-6
    n_out = max(1, int(round(len(positions) / fps * video_fps)))
    fig = plt.figure(figsize=(size_px / 100, size_px / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{np.random.default_rng().integers(1 << 30)}.mp4")
    cmd = [
        ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{size_px}x{size_px}",
        "-r", str(video_fps), "-i", "-", "-i", str(audio), "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(tmp),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i in range(n_out):
            t = min(len(positions) - 1, int(round(i / video_fps * fps)))
            ax.clear()
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.axis("off")
            xy = positions[t][:, [side, up]]
            for a, b in skeleton.edges:
                if np.isfinite(xy[[a, b]]).all():
                    ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="#223344", lw=2)
            ax.text(centre[0] - half * 0.95, centre[1] + half * 0.85, f"{t / fps:.1f} s", fontsize=7)
            fig.canvas.draw()
            proc.stdin.write(np.asarray(fig.canvas.buffer_rgba()).tobytes())
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {path}: {err.splitlines()[-1] if err else 'no message'}")
        tmp.replace(path)
    finally:
        plt.close(fig)
        if proc.poll() is None:
            proc.kill()
        tmp.unlink(missing_ok=True)
    return path
