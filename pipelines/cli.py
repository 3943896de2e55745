"""Command-line plumbing for the stage entry points: argument parsing, the one-line error
contract, worker pools and the stage-only environments (MediaPipe, Spleeter)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .config import REPO_ROOT, ParamsError, load_params
from .errors import InputError

log = logging.getLogger("pipelines")


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="path to params.yaml")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def run_stage(
    main: Callable[..., object],
    description: str,
    argv: Sequence[str] | None = None,
    *,
    models: Sequence[str] | None = None,
    seeded: bool = False,
    folded: bool = False,
    options: dict[str, Sequence[str]] | None = None,
    parted: bool = False,
    varianted: bool = False,
) -> int:
    """Thin CLI wrapper: parse args, load params, run ``main``; bad input -> one line, exit 1.

    With ``models``, the stage also takes ``--model`` and is called as ``main(params, model)``;
    with ``seeded``, it takes ``--seed-index K`` (training run K, seed ``seed + K``) and gets
    ``seed_index=K`` as a keyword; with ``folded``, ``--fold F`` (cross-validation fold F) gives
    ``fold=F`` (None without the option); each ``options`` entry ``name: choices`` adds
    ``--name`` (default the first choice), passed as the keyword ``name``; with ``parted``,
    ``--part I/N`` (do only part I of N of the stage's items, :func:`take_part`, into
    :func:`part_path`) gives ``part=(I, N)`` (None without the option); with ``varianted``,
    ``--variant NAME`` (a model family's variant, ``<family>.variants``; default ``main``) gives
    ``variant=NAME``.
    """
    parser = stage_parser(description)
    if models:
        parser.add_argument("--model", required=True, choices=list(models))
    if seeded:
        parser.add_argument("--seed-index", type=int, default=0, help="training run (seed = params seed + index)")
    if folded:
        parser.add_argument("--fold", type=int, default=None, help="cross-validation fold (evaluate.protocol: kfold)")
    for name, choices in (options or {}).items():
        parser.add_argument(f"--{name}", choices=list(choices), default=choices[0])
    if varianted:
        parser.add_argument("--variant", default="main", help="the family variant (<family>.variants in params)")
    if parted:
        parser.add_argument("--part", type=_part, default=None, help="I/N: only part I (0-based) of N of the clips")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        params = load_params(args.params)
        positional = (params, args.model) if models else (params,)
        keywords = {"seed_index": args.seed_index} if seeded else {}
        if folded:
            keywords["fold"] = args.fold
        keywords.update({name: getattr(args, name) for name in options or {}})
        if parted:
            keywords["part"] = args.part
        if varianted:
            keywords["variant"] = args.variant
        main(*positional, **keywords)
    except (InputError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def fan_out_jobs(params: dict) -> int:
    """``cluster.fan_out``: jobs each per-item stage is split into (1 when the optional ``cluster``
    section or the key is absent). Per-item stages: pose, stems and encodec (per clip),
    audio_features (per piece) and motion_features (per sequence)."""
    return int((params.get("cluster") or {}).get("fan_out") or 1)


def take_part(items: Sequence, part: tuple[int, int] | None) -> list:
    """The items of part ``(i, n)``: every n-th from the i-th (all with None), so n jobs share them
    evenly and a part keeps its items when new ones are added at the end."""
    if part is None:
        return list(items)
    i, n = part
    return list(items)[i::n]


def part_path(path: Path | str, part: tuple[int, int] | None) -> Path:
    """Where part ``(i, n)`` of a stage writes ``path``: ``x.part<i>of<n>.json`` for a file
    ``x.json``, ``x.part<i>of<n>`` for a folder ``x``; ``path`` itself with None."""
    path = Path(path)
    if part is None:
        return path
    tag = f".part{part[0]}of{part[1]}"
    return path.with_name(f"{path.stem}{tag}{path.suffix}" if path.suffix else f"{path.name}{tag}")


def _part(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--part {text!r}: expected I/N, e.g. 0/4") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"--part {text!r}: I must be in 0 … N-1")
    return i, n


def n_workers(params: dict) -> int:
    """Worker processes of a stage: ``workers`` from params (0 = every core)."""
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
    if importlib.util.find_spec(probe) is not None:
        return
    if os.environ.get("PIPELINES_STAGE_ENV") == venv:
        raise RuntimeError(f"{REPO_ROOT / venv}: {probe} is not importable there")
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT), f"{venv}/.installed"], check=True, stdout=sys.stderr)
    python = str(REPO_ROOT / venv / "bin" / "python")
    env = {
        **os.environ,
        "PIPELINES_STAGE_ENV": venv,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    log.info("running %s in %s", module, venv)
    sys.stderr.flush()
    os.execve(python, [python, "-m", module, *sys.argv[1:]], env)
