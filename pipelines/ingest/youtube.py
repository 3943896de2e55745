"""YouTube clip lists: parse ``url,start,end`` rows, fetch a source (yt-dlp or a local file) and
cut it into windows of video and audio with ffmpeg. Used by :mod:`pipelines.stages.youtube_clips`.
"""

from __future__ import annotations

import csv
import logging
import math
import subprocess
import tempfile
from pathlib import Path

from ..errors import InputError, Skips
from ..files import atomic_dir
from .clips import clip_done, mark_clip_done

log = logging.getLogger(__name__)
MANIFEST_FIELDS = ["clip", "row", "url", "start_s", "end_s", "window", "status", "reason", "sha256"]


def parse_time(text: str) -> float:
    """``HH:MM:SS`` (or ``MM:SS``, ``SS``, with optional fractions) to seconds."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"not a HH:MM:SS time: {text!r}")
    seconds = 0.0
    for p in parts:
        try:
            value = float(p)
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"not a HH:MM:SS time: {text!r}")
        seconds = seconds * 60 + value
    return seconds


def read_links(path: Path, skips: Skips | None = None) -> list[dict]:
    """Rows of a clip list; the byte-order mark and blank lines are ignored.

    A malformed row is an :class:`InputError` naming ``path``, the line and why; with ``skips``
    it goes through the ``on_error`` policy instead (item ``clip_<row>``: listed and dropped under
    ``skip``, raised under ``fail``). Each row is ``{"row", "line", "url", "start_s", "end_s"}``:
    ``row`` numbers the CSV records from 0 (the clip names), ``line`` is the file's line.
    """
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            for i, rec in enumerate(reader):
                if not rec or not "".join(rec).strip():
                    continue
                try:
                    rows.append({"row": i, "line": reader.line_num, **_parse_link(rec, reader.line_num)})
                except ValueError as exc:
                    err = InputError(path, str(exc))
                    if skips is None:
                        raise err from exc
                    skips.handle(f"clip_{i}", err)
    except FileNotFoundError as exc:
        raise InputError(path, "clip list not found (youtube.links)") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a UTF-8 CSV of url,start,end rows: {exc}") from exc
    return rows


def _parse_link(rec: list[str], line: int) -> dict:
    """``url,start,end`` fields -> url and times in seconds; ValueError saying which line and why."""
    if len(rec) != 3:
        raise ValueError(f"line {line}: expected url,start,end, got {len(rec)} fields")
    url, start, end = (x.strip() for x in rec)
    if not url:
        raise ValueError(f"line {line}: empty url")
    try:
        s, e = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise ValueError(f"line {line}: {exc}") from exc
    if e <= s:
        raise ValueError(f"line {line}: end {end} is not after start {start}")
    return {"url": url, "start_s": s, "end_s": e}


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def download_source(url: str, workdir: Path) -> Path:
    """Fetch one source video with yt-dlp; returns the file."""
    import yt_dlp

    opts = {
        "outtmpl": str(workdir / "source.%(ext)s"),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "format": "best",
        "ffmpeg_location": ffmpeg_exe(),
        "retries": 3,
        "socket_timeout": 30,
        "noplaylist": True,
    }
    with yt_dlp.YoutubeDL(opts) as ydl:
        ydl.download([url])
    files = [p for p in workdir.iterdir() if p.name.startswith("source.") and not p.name.endswith(".part")]
    if not files:
        raise RuntimeError("yt-dlp finished without a file")
    return files[0]


def local_source(url: str, links_dir: Path) -> Path | None:
    """The local file ``url`` names, or None when it is a web address."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(url).path))
    if "://" in url:
        return None
    path = Path(url)
    return path if path.is_absolute() else links_dir / path


def cut_window(source: Path, out_dir: Path, *, start_s: float, seconds: float, fps: int, sample_rate: int) -> None:
    """Write ``video.mp4`` (``fps``, no audio) and ``audio.wav`` (mono, ``sample_rate``) for one window."""
    exe = ffmpeg_exe()
    common = [exe, "-v", "error", "-y", "-ss", f"{start_s:.3f}", "-i", str(source), "-t", f"{seconds:.3f}"]
    subprocess.run(
        common
        + [
            "-an",
            "-vf",
            f"fps={fps}",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-frames:v",
            str(int(round(seconds * fps))),
            str(out_dir / "video.mp4"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        common + ["-vn", "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le", str(out_dir / "audio.wav")],
        check=True,
        capture_output=True,
    )


def process_clip(row: dict, cfg: dict, target: Path, links_dir: Path = Path(".")) -> list[dict]:
    """Download and cut one CSV row; returns manifest rows (status ok / reused / failed)."""
    n = int((row["end_s"] - row["start_s"]) // cfg["window_seconds"])
    names = [f"clip_{row['row']}_{k}" for k in range(n)]
    base = {"row": row["row"], "url": row["url"], "start_s": row["start_s"], "end_s": row["end_s"]}
    if n == 0:
        return [
            {
                **base,
                "clip": f"clip_{row['row']}",
                "window": "",
                "status": "failed",
                "reason": f"shorter than one {cfg['window_seconds']} s window",
            }
        ]
    cut = {
        "url": row["url"],
        "start_s": row["start_s"],
        **{k: cfg[k] for k in ("window_seconds", "fps", "sample_rate")},
    }
    if all(
        clip_done(target / name, "youtube_clips", {**cut, "window": k}, ["audio.wav", "video.mp4"])
        for k, name in enumerate(names)
    ):
        return [{**base, "clip": name, "window": k, "status": "reused", "reason": ""} for k, name in enumerate(names)]
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        try:
            source = local_source(row["url"], links_dir)
            if source is not None and not source.is_file():
                raise FileNotFoundError(f"local file {source} not found")
            source = source or download_source(row["url"], Path(tmp))
        except Exception as exc:  # yt-dlp raises many kinds; recorded, the stage applies on_error
            reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            log.warning("%s: %s", row["url"], reason)
            return [{**base, "clip": f"clip_{row['row']}", "window": "", "status": "failed", "reason": reason}]
        out = []
        for k, name in enumerate(names):
            try:
                with atomic_dir(target / name) as wdir:
                    cut_window(
                        source,
                        wdir,
                        start_s=row["start_s"] + k * cfg["window_seconds"],
                        seconds=cfg["window_seconds"],
                        fps=cfg["fps"],
                        sample_rate=cfg["sample_rate"],
                    )
                    mark_clip_done(wdir, "youtube_clips", {**cut, "window": k})
                out.append({**base, "clip": name, "window": k, "status": "ok", "reason": ""})
            except subprocess.CalledProcessError as exc:
                reason = exc.stderr.decode(errors="replace").strip().splitlines()[-1][:300] if exc.stderr else str(exc)
                out.append({**base, "clip": name, "window": k, "status": "failed", "reason": reason})
        return out
