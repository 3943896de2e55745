"""One core for the single-core benchmarks, set before any numeric library starts its threads."""

from __future__ import annotations

import os
import sys

#: Thread counts read once, when OpenMP/BLAS, numba and Blosc first load.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "BLOSC_NTHREADS")


def one_core(module: str, argv: list[str] | None) -> None:
    """Make this process use one thread: if any of :data:`THREAD_VARS` is not ``1``, start
    ``python -m <module> <argv>`` again in its place with them set (numpy and torch are already
    imported by now, so setting them here would change nothing); then pin torch to one thread."""
    if any(os.environ.get(v) != "1" for v in THREAD_VARS):
        args = sys.argv[1:] if argv is None else argv
        os.execve(
            sys.executable, [sys.executable, "-m", module, *args], {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
        )
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
