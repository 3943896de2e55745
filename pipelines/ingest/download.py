"""Resumable, verified downloads and safe archive extraction.

:func:`fetch` downloads one URL to a file:

- resumes a partial ``<file>.part`` with an HTTP ``Range`` request (a server that ignores
  the range and answers 200 restarts the file);
- retries dropped connections and server errors with exponential backoff;
- checks the bytes against an expected SHA-256 (pinned in params or recorded in the lock
  file on an earlier download) and, for zip archives, every member's CRC; bad bytes are
  deleted, nothing is kept;
- renames the finished file into place, so a killed run never leaves a file that looks done.

:func:`safe_extract` unpacks a zip into a directory, refusing any member whose path would
land outside it (absolute paths, ``..``, symlinks).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from tqdm import tqdm

from ..errors import InputError
from ..files import atomic_file, sha256_file

log = logging.getLogger(__name__)


class DownloadError(InputError):
    """A download that could not be completed or verified."""


def _attempt(url: str, part: Path, *, timeout_s: float, chunk_bytes: int, progress: bool) -> None:
    """One request: append to ``part`` from its current size. Raises OSError on a short read."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        status = resp.status
        if have and status == 200:
            log.info("%s: server ignored the range request; starting over", url)
            have = 0
        elif status == 206:
            start = int(resp.headers.get("Content-Range", "bytes 0-").split()[1].split("-")[0])
            if start != have:
                raise DownloadError(url, f"server resumed at byte {start}, expected {have}")
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        got = 0
        with (
            open(part, "ab" if have else "wb") as fh,
            tqdm(
                total=(expected + have) if expected is not None else None,
                initial=have,
                unit="B",
                unit_scale=True,
                desc=Path(url).name,
                disable=None if progress else True,
                file=sys.stderr,
            ) as bar,
        ):
            while True:
                block = resp.read(chunk_bytes)
                if not block:
                    break
                fh.write(block)
                got += len(block)
                bar.update(len(block))
        if expected is not None and got < expected:
            raise ConnectionError(f"connection closed after {got} of {expected} bytes")


def fetch(
    url: str,
    dest: Path,
    *,
    expected_sha256: str | None = None,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    chunk_bytes: int = 1 << 16,
    progress: bool = True,
) -> str:
    """Download ``url`` to ``dest`` (resuming, retrying, verifying); returns the SHA-256.

    Raises
    ------
    DownloadError
        After ``retries`` failed attempts, on an HTTP client error, or when the bytes do not
        match ``expected_sha256`` or are not a valid zip (then nothing is kept).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _attempt(url, part, timeout_s=timeout_s, chunk_bytes=chunk_bytes, progress=progress)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # range past the end: the part is already whole
                break
            if 400 <= exc.code < 500:
                raise DownloadError(url, f"HTTP {exc.code} {exc.reason}") from exc
            err = exc
        except (ConnectionError, TimeoutError, urllib.error.URLError, OSError) as exc:
            err = exc
        if attempt == retries:
            raise DownloadError(url, f"gave up after {retries + 1} attempts: {err}")
        wait = backoff_s * 2**attempt
        log.warning("%s: %s; retrying in %.1f s (%d/%d)", url, err, wait, attempt + 1, retries)
        time.sleep(wait)
    digest = sha256_file(part)
    if expected_sha256 and digest != expected_sha256:
        part.unlink()
        raise DownloadError(
            url, f"SHA-256 {digest[:12]}… does not match the expected {expected_sha256[:12]}…; the bytes were deleted"
        )
    if dest.suffix == ".zip":
        problem = zip_problem(part)
        if problem:
            part.unlink()
            raise DownloadError(url, f"corrupt archive ({problem}); the bytes were deleted")
    os.replace(part, dest)
    return digest


def zip_problem(path: Path) -> str | None:
    """Why ``path`` is not an intact zip (bad structure or a member failing its CRC), else None."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        return str(exc)
    return f"member {bad} fails its CRC check" if bad else None


def safe_extract(archive: Path, target: Path) -> list[str]:
    """Extract a zip into ``target``; refuse members that escape it. Returns member names.

    Extraction goes to a temporary directory first and is moved into ``target`` only when
    every member is safe and written, so a refused archive leaves ``target`` untouched.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for m in members:
            name = m.filename
            is_link = stat.S_ISLNK(m.external_attr >> 16)
            dest = (root / name).resolve()
            if (
                name.startswith(("/", "\\"))
                or ".." in Path(name).parts
                or is_link
                or (dest != root and root not in dest.parents)
            ):
                raise InputError(archive, f"refused member {name!r}: it would be written outside {target}")
        tmp = Path(target.parent / f".{target.name}.extract-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            zf.extractall(tmp)
            for path in sorted(tmp.rglob("*")):
                rel = path.relative_to(tmp)
                if path.is_dir():
                    (target / rel).mkdir(parents=True, exist_ok=True)
                else:
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target / rel)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [m.filename for m in members]


class LockFile:
    """``download.lock.json``: the URL, SHA-256 and size of every archive fetched so far."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.entries: dict[str, dict] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def expected(self, name: str) -> str | None:
        """The recorded SHA-256 of ``name`` (whatever mirror it came from), or None."""
        e = self.entries.get(name)
        return e["sha256"] if e else None

    def record(self, name: str, url: str, sha256: str, size: int) -> None:
        self.entries[name] = {"url": url, "sha256": sha256, "bytes": size}
        with atomic_file(self.path, "w") as fh:
            json.dump(self.entries, fh, indent=2, sort_keys=True)
            fh.write("\n")
