"""Stage ``youtube_clips``: a CSV of YouTube dance clips → 5-s windows of video and audio.

``python -m pipelines.stages.youtube_clips --params params.yaml``

Reads ``youtube.links`` (``url,start,end`` per line, UTF-8 with or without a byte-order
mark, times as ``HH:MM:SS``), downloads each source with the yt-dlp Python API, and cuts
``[start, end)`` into windows of ``youtube.window_seconds`` with ffmpeg (the binary shipped by
``imageio-ffmpeg``): ``<target>/clip_<row>_<k>/video.mp4`` at ``youtube.fps`` frames/s (no
audio) and ``audio.wav``, mono at ``youtube.sample_rate`` Hz. Bad rows follow ``on_error``: a
malformed row (wrong field count, bad time, end not after start) or a clip that cannot be
downloaded or cut stops the stage with one line naming the list, the line and the URL under
``fail``; under ``skip`` it is listed in ``<target>/skipped.csv`` (and a failed clip in
``<target>/manifest.csv`` with status ``failed`` and the reason) and the run goes on.
Finished windows are reused on a second run (cut again when the row or the cut params change). A ``url`` that is a local file (a path, relative
to the CSV's folder or absolute, or a ``file://`` URL) is cut directly, without yt-dlp, so the
stage runs offline on a list of local videos.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..cli import run_stage
from ..errors import InputError, Skips
from ..files import sha256_file, stable_hash, write_csv
from ..ingest.youtube import MANIFEST_FIELDS, process_clip, read_links

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    cfg = params["youtube"]
    target = Path(cfg["target"])
    target.mkdir(parents=True, exist_ok=True)
    links = Path(cfg["links"])
    skips = Skips(params["on_error"])
    rows = read_links(links, skips)
    manifest = []
    for row in rows:
        for m in process_clip(row, cfg, target, links.parent):
            if m["status"] == "failed":
                skips.handle(m["clip"], InputError(links, f"line {row['line']}: {row['url']}: {m['reason']}"))
            manifest.append(m)
    for m in manifest:  # the checksum makes the manifest change whenever a clip's files do
        if m["status"] != "failed":
            m["sha256"] = stable_hash("".join(sha256_file(target / m["clip"] / f) for f in ("video.mp4", "audio.wav")))
    write_csv(target / "manifest.csv", manifest, fieldnames=MANIFEST_FIELDS)
    skips.write(target / "skipped.csv")
    ok = sum(m["status"] in ("ok", "reused") for m in manifest)
    log.info(
        "youtube: %d windows ready, %d rows or clips skipped (see %s)", ok, len(skips.rows), target / "skipped.csv"
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
