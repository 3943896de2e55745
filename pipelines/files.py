"""Files: atomic writes (temp name, then rename), CSV, checksums and stable hashes.

Temporaries. ``atomic_dir(target)`` and ``atomic_file(target)`` write into a hidden sibling
``.<name>.tmp-<host>-<pid>-<start>-<random>`` and rename it over ``target`` when the block
succeeds; ``atomic_dir`` moves an existing ``target`` aside to ``.<name>.old-<host>-<pid>-<start>-<random>``
for the instant between the two renames. ``<host>`` is the first 8 hex digits of the SHA-256 of
the host name, ``<pid>`` the writing process and ``<start>`` its start time (clock ticks after
boot, field 22 of ``/proc/<pid>/stat``; 0 without ``/proc``), so that a reused PID is not
taken for the writer. A failing block removes its temporary; a process killed with SIGKILL
cannot, so each ``atomic_dir``/``atomic_file`` call first removes the leftovers *of its own
target name* (no other) in the target's folder whose writer is gone:

- written on this host (same ``<host>``): removed when that PID no longer exists, is a zombie,
  or belongs to a process with another start time. A live writer's temporary (a concurrent job,
  this process itself) is never touched. Writers that share a host name are assumed to share a
  PID namespace.
- written on another host (a shared filesystem), or named in the earlier format without an
  owner (``.<name>.tmp-<random>``, ``.<name>.old-<pid>``): removed only when nothing in it has
  changed for ``STALE_AFTER_S`` (24 hours).
- a gone writer's ``.old-`` while ``target`` itself is missing (killed between the two
  renames) is the last complete output: it is renamed back to ``target``, not removed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: Leftovers not attributable to a process on this host are removed after this many seconds
#: without a change (see the module docstring).
STALE_AFTER_S = 24 * 3600

_OWNER = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-[a-z0-9_]+")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _proc_stat(pid: int) -> list[str]:
    """Fields 3.. of ``/proc/<pid>/stat`` (state first); raises OSError where unreadable."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()  # the command name (field 2) may hold spaces and ")"


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks after boot; 0 where /proc cannot tell."""
    try:
        return int(_proc_stat(pid)[19])
    except (OSError, IndexError, ValueError):
        return 0


def owner_tag() -> str:
    """``<host>-<pid>-<start>``: the writer part of this process's temporary names."""
    pid = os.getpid()
    return f"{_host_tag()}-{pid}-{_start_time(pid)}"


def process_alive(pid: int, start: int) -> bool:
    """Whether process ``pid`` started at ``start`` (0: unknown) still runs on this host."""
    if pid <= 0:
        return True  # not a process id: keep what it names
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # PermissionError: it exists, run by another user
    try:
        fields = _proc_stat(pid)
    except FileNotFoundError:
        return not Path("/proc/self/stat").exists()  # exited since, or no /proc to ask
    except OSError:
        return True
    if fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return False
    return start == 0 or fields[19] == str(start)


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def _gone_writer(rest: str, path: Path, host: str) -> str | None:
    """Why the leftover named ``...<kind>-<rest>`` at ``path`` is stale, or None to keep it."""
    owner = _OWNER.fullmatch(rest)
    if owner and owner["host"] == host:
        pid, start = int(owner["pid"]), int(owner["start"])
        return None if process_alive(pid, start) else f"process {pid} is gone"
    age = time.time() - _newest_mtime(path)
    return f"unchanged for {age / 3600:.0f} h" if age >= STALE_AFTER_S else None


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the leftovers of killed ``atomic_dir``/``atomic_file`` writes of ``target`` (see the
    module docstring); returns the paths removed (or renamed back to ``target``)."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(?P<kind>tmp|old)-(?P<rest>.+)")
    try:
        entries = sorted(os.scandir(target.parent), key=lambda e: e.name)
    except OSError:
        return []
    host, done = _host_tag(), []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if not m:
            continue
        path = Path(entry.path)
        try:
            why = _gone_writer(m["rest"], path, host)
        except OSError:
            continue  # removed meanwhile
        if why is None:
            continue
        try:
            if m["kind"] == "old" and not os.path.lexists(target):
                path.rename(target)
                log.warning("%s: restored the previous output from %s (%s)", target, path.name, why)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
                log.info("%s: removed stale temporary %s (%s)", target, path.name, why)
            else:
                path.unlink()
                log.info("%s: removed stale temporary %s (%s)", target, path.name, why)
        except OSError as err:
            log.warning("%s: cannot remove stale temporary %s: %s", target, path.name, err)
            continue
        done.append(path)
    return done


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    owner = owner_tag()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{owner}-{secrets.token_hex(4)}")
            target.rename(old)
            try:
                tmp.rename(target)
            except BaseException:
                old.rename(target)
                raise
            shutil.rmtree(old)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: Path, mode: str = "w") -> Iterator:
    """Open a temp file beside ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-{owner_tag()}-", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp, mode) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv(path: Path, rows: Iterable[dict], *, fieldnames: Sequence[str]) -> None:
    with atomic_file(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()


def stable_hash(text: str) -> int:
    """A process-independent 32-bit hash of ``text`` (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def write_json(path: Path, obj, *, indent: int = 2) -> Path:
    """Write ``obj`` as JSON (ending in a newline) atomically; returns ``path``."""
    import json

    with atomic_file(Path(path), "w") as fh:
        fh.write(json.dumps(obj, indent=indent) + "\n")
    return Path(path)
