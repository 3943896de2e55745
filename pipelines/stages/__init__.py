"""The DAG's stages: one module per stage, run as ``python -m pipelines.stages.<module> --params params.yaml``.

Stage ``train_<model>`` runs :mod:`pipelines.stages.train` and ``evaluate_<model>`` runs
:mod:`pipelines.stages.evaluate` (with ``--model``); every other stage's module has its name.
:mod:`pipelines.dag` declares which stage reads and writes what.

Threads: importing this package pins the BLAS / OpenMP thread count of the stage process (and
so numpy's and torch's) to ``PIPELINES_THREADS`` (default 1) before numpy or torch is loaded.
Snakemake sets these variables to a rule's ``threads``, DVC and a by-hand run leave them
unset; pinning them here makes a stage compute the same bytes whichever runs it. Stages that
parallelise do it with worker processes (``workers``), not BLAS threads.
"""

import os

_THREADS = os.environ.get("PIPELINES_THREADS", "1")
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = _THREADS
