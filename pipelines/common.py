"""Shared plumbing for stage CLIs: errors, the on_error policy, atomic writes, workers."""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .config import ParamsError, load_params

log = logging.getLogger("pipelines")


class InputError(Exception):
    """A bad input file. ``str()`` is one line naming the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # survive the trip back from a worker process
        return (InputError, (self.path, self.reason))


class Skips:
    """Collects inputs dropped under ``on_error: skip``; raises under ``on_error: fail``."""

    def __init__(self, policy: str):
        self.policy = policy
        self.rows: list[dict] = []

    def handle(self, item: str, err: InputError) -> None:
        if self.policy == "fail":
            raise err
        log.warning("skipping %s: %s", item, err)
        self.rows.append({"item": item, "path": err.path, "reason": err.reason})

    def write(self, path: Path) -> None:
        """Write the skip manifest (always written, possibly empty)."""
        write_csv(path, self.rows, fieldnames=["item", "path", "reason"])


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="path to params.yaml")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def run_stage(main: Callable[..., object], description: str, argv: Sequence[str] | None = None, *,
              models: Sequence[str] | None = None) -> int:
    """Thin CLI wrapper: parse args, load params, run ``main``; bad input -> one line, exit 1.

    With ``models``, the stage also takes ``--model`` and is called as ``main(params, model)``.
    """
    parser = stage_parser(description)
    if models:
        parser.add_argument("--model", required=True, choices=list(models))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        params = load_params(args.params)
        main(params, args.model) if models else main(params)
    except (InputError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
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


def n_workers(params: dict) -> int:
    return params["workers"] or os.cpu_count() or 1


def parallel_map(fn: Callable, items: Sequence, *, workers: int) -> list:
    """``[fn(x) for x in items]`` over a process pool; order and results are deterministic."""
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items, chunksize=max(1, len(items) // (4 * workers))))


def ensure_stage_env(venv: str, *, module: str, probe: str) -> None:
    """Re-run this stage in its own environment when ``probe`` cannot be imported here.

    MediaPipe (numpy < 2) and Spleeter (TensorFlow) cannot share the main environment. When
    the current interpreter lacks ``probe`` (as in the main ``.venv``; a conda env made from
    ``workflow/envs/<stage>.yaml`` has it), ``make`` builds ``<repo>/<venv>`` if needed and the
    process is replaced by ``<venv>/bin/python -m <module>`` with the same arguments.
    """
    import importlib.util
    import subprocess

    if importlib.util.find_spec(probe) is not None:
        return
    from .config import REPO_ROOT

    if os.environ.get("PIPELINES_STAGE_ENV") == venv:
        raise RuntimeError(f"{REPO_ROOT / venv}: {probe} is not importable there")
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT), f"{venv}/.installed"], check=True, stdout=sys.stderr)
    python = str(REPO_ROOT / venv / "bin" / "python")
    env = {**os.environ, "PIPELINES_STAGE_ENV": venv,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    log.info("running %s in %s", module, venv)
    sys.stderr.flush()
    os.execve(python, [python, "-m", module, *sys.argv[1:]], env)


def clip_done(clip_dir: Path, stage: str, cfg: dict, outputs: Sequence[str], inputs: Sequence[str] = ()) -> bool:
    """True when ``stage`` already ran on ``clip_dir`` with this ``cfg``, left ``outputs`` and
    none of its ``inputs`` changed since.

    Per-clip stages (youtube_clips, pose, stems, encodec) record the config they ran with in
    ``<clip>/.<stage>.json`` after their outputs; a changed config, or an input file newer
    than that record (an earlier stage redid the clip), redoes the clip.
    """
    clip_dir = Path(clip_dir)
    stamp = clip_dir / f".{stage}.json"
    if not stamp.is_file() or not all((clip_dir / o).is_file() for o in outputs):
        return False
    done_at = stamp.stat().st_mtime_ns
    if any(not (clip_dir / i).is_file() or (clip_dir / i).stat().st_mtime_ns > done_at for i in inputs):
        return False
    try:
        return json.loads(stamp.read_text()) == json.loads(json.dumps(cfg))
    except ValueError:
        return False


def mark_clip_done(clip_dir: Path, stage: str, cfg: dict) -> None:
    """Record that ``stage`` finished ``clip_dir`` with ``cfg`` (see :func:`clip_done`)."""
    with atomic_file(Path(clip_dir) / f".{stage}.json", "w") as fh:
        json.dump(cfg, fh, sort_keys=True)
