"""Stage ``download_aistpp``: fetch the AIST++ annotation archives and the music.

Downloads every archive in ``download_aistpp.archives`` from ``base_url`` and every music
piece from ``music_url`` into ``<target>/downloads/`` (resuming, retrying with backoff,
verified, see :mod:`pipelines.ingest.download`), extracts the archives safely into
``<target>/annotations/`` and links the music into ``<target>/music/``.
``<target>/download.lock.json`` records the URL, SHA-256 and size of every file; a second run
(Snakemake and DVC clear a stage's outputs first, but not ``downloads/``) checks the files
against it and downloads only what is missing or damaged. A server that now sends different
bytes than the lock file recorded is refused.

Point ``datasets.aistpp.root`` and ``music_dir`` at ``<target>`` and ``<target>/music``
(``datasets.aistpp.source: download`` does that) to run the pipeline on the download.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urljoin

from ..cli import run_stage
from ..files import sha256_file
from ..ingest.download import LockFile, fetch, safe_extract

log = logging.getLogger(__name__)

GENRES = ("BR", "PO", "LO", "WA", "MH", "LH", "HO", "KR", "JS", "JB")
MUSIC_PIECES = tuple(f"m{g}{k}" for g in GENRES for k in range(6))


def _ensure(name: str, url: str, dest: Path, lock: LockFile, cfg: dict) -> bool:
    """Make ``dest`` hold the verified bytes of ``url``; True when it had to be downloaded."""
    pinned = cfg["sha256"].get(name) or lock.expected(name)
    if dest.exists():
        if pinned and sha256_file(dest) == pinned:
            return False
        log.warning("%s: on disk but %s; fetching again", dest, "damaged" if pinned else "not in the lock file")
        dest.unlink()
    digest = fetch(
        url,
        dest,
        expected_sha256=pinned,
        retries=cfg["retries"],
        backoff_s=cfg["backoff_s"],
        timeout_s=cfg["timeout_s"],
    )
    lock.record(name, url, digest, dest.stat().st_size)
    return True


def download_aistpp(cfg: dict) -> dict:
    """Fetch and extract everything; returns counts of what was downloaded and reused."""
    target = Path(cfg["target"])
    archives_dir, ann, music = target / "downloads", target / "annotations", target / "music"
    lock = LockFile(target / "download.lock.json")
    done = {"downloaded": 0, "reused": 0}
    for name in cfg["archives"]:
        dest = archives_dir / name
        fresh = _ensure(name, urljoin(cfg["base_url"], name), dest, lock, cfg)
        marker = ann / f".{name}.extracted"
        if fresh or not marker.exists() or marker.read_text() != lock.entries[name]["sha256"]:
            safe_extract(dest, ann)
            marker.write_text(lock.entries[name]["sha256"])
        done["downloaded" if fresh else "reused"] += 1
    music.mkdir(parents=True, exist_ok=True)
    for piece in cfg["music_pieces"] or MUSIC_PIECES:
        name = f"{piece}.wav"
        fresh = _ensure(name, cfg["music_url"].format(piece=piece), archives_dir / name, lock, cfg)
        if not (music / name).exists():
            os.link(archives_dir / name, music / name)
        done["downloaded" if fresh else "reused"] += 1
    return done


def main(params: dict) -> None:
    cfg = params["download_aistpp"]
    done = download_aistpp(cfg)
    log.info("AIST++ download in %s: %d files downloaded, %d reused", cfg["target"], done["downloaded"], done["reused"])


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
