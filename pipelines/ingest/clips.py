"""The per-clip runner shared by the clip stages (youtube_clips, pose, stems, encodec).

Per-clip results live in the clip folders ``<youtube.target>/clip_*/``, which are not declared
DAG outputs (Snakemake and DVC delete declared outputs before rerunning a stage). Each stage
records the params that shape its output in ``<clip>/.<stage>.json`` after writing its files;
a rerun redoes a clip only when that record differs from the current params, an output is
missing, or an input is newer than the record (an earlier stage redid the clip). A killed run
therefore resumes at the first clip it had not finished.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..cli import part_path, take_part
from ..files import atomic_file, sha256_file

log = logging.getLogger(__name__)


def summary_file(clips_dir: Path, name: str, part: tuple[int, int] | None = None) -> Path:
    """``<clips_dir>/<name>.json``, the stage's summary, or with ``part`` (i, n) the part's own
    ``<name>.part<i>of<n>.json`` (stage ``gather_parts`` joins those)."""
    return part_path(Path(clips_dir) / f"{name}.json", part)


def gather_summaries(clips_dir: Path, name: str, *, parts: int) -> list[dict]:
    """The rows of every part's summary file, in clip order: the rows one job over all clips gives."""
    from ..errors import InputError

    rows = []
    for i in range(parts):
        path = summary_file(clips_dir, name, (i, parts))
        if not path.is_file():
            raise InputError(path, f"part {i} of {parts} has not run (its stage writes this file)")
        rows += json.loads(path.read_text())
    return sorted(rows, key=lambda r: r["clip"])


def _process_one(job: tuple) -> None:
    process, clip, stage, stamp = job
    process(clip, None)
    mark_clip_done(clip, stage, stamp)


def clip_done(clip_dir: Path, stage: str, cfg: dict, outputs: Sequence[str], inputs: Sequence[str] = ()) -> bool:
    """True when ``stage`` already ran on ``clip_dir`` with this ``cfg``, left ``outputs`` and
    none of its ``inputs`` changed since (see the module docstring)."""
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


def run_per_clip(
    clips_dir: Path,
    *,
    stage: str,
    input_name: str,
    outputs: Sequence[str],
    stamp: dict,
    process: Callable[[Path, Any], None],
    load: Callable[[], Any] | None = None,
    part: tuple[int, int] | None = None,
    workers: int = 1,
) -> list[dict]:
    """Run ``process(clip_dir, model)`` on every clip with ``input_name`` not yet done with ``stamp``
    (with ``part``, only the clips of that part: :func:`pipelines.cli.take_part`). With ``workers`` > 1
    and no shared model (``load`` None), that many clips run at a time in worker processes
    (``process`` must then be picklable: a top-level function or a partial of one).

    ``load`` builds the model once, and only when some clip needs it. Returns one row per clip:
    ``clip``, ``reused`` (done earlier with the same stamp) and ``sha256`` of ``outputs[0]``, so a
    summary file built from the rows changes whenever a clip's output does (DVC hashes it).
    """
    clips = take_part(sorted(p.parent for p in Path(clips_dir).glob(f"clip_*/{input_name}")), part)
    todo = [c for c in clips if not clip_done(c, stage, stamp, outputs, inputs=[input_name])]
    if workers > 1 and load is None and len(todo) > 1:  # a process per clip at a time (the model is per process)
        from ..cli import parallel_map

        parallel_map(_process_one, [(process, clip, stage, stamp) for clip in todo], workers=workers)
    else:
        model = load() if todo and load is not None else None
        for clip in todo:
            process(clip, model)
            mark_clip_done(clip, stage, stamp)
    log.debug("%s: %d clips processed, %d reused", stage, len(todo), len(clips) - len(todo))
    return [{"clip": c.name, "reused": c not in todo, "sha256": sha256_file(c / outputs[0])} for c in clips]
