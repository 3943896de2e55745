"""The DAG's data and cross-family stages, one module per stage, run as
``python -m pipelines.stages.<module> --params params.yaml``; a model family's stages are the
``stage_*`` modules of its folder (``pipelines/families/<name>/``). :mod:`pipelines.dag` declares
which stage reads and writes what.

Reproducible numerics, set here once, before numpy, scipy, numba or torch is loaded (importing
this package is the first thing every stage does):

- threads: BLAS / OpenMP threads are pinned to ``PIPELINES_THREADS`` (default 1). Snakemake
  sets these variables to a rule's ``threads``, DVC and a by-hand run leave them unset, and
  with 2 threads the audio features already differ in their last bits; pinned, a stage computes
  the same bytes whichever runs it. Stages parallelise with worker processes (``workers``).
- CPU kernels: on x86-64 CPUs with AVX2, the libraries are held to their AVX2 code paths —
  numpy's AVX-512 kernels are disabled (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS uses its
  Haswell kernels (``OPENBLAS_CORETYPE``), MKL and oneDNN their AVX2 paths (``MKL_CBWR``,
  ``ONEDNN_MAX_CPU_ISA``), torch its AVX2 kernels (``ATEN_CPU_CAPABILITY``) and numba compiles for a generic x86-64 (``NUMBA_CPU_NAME``) — so
  the last bits of vectorised sin / exp / matrix products do not depend on which CPU ran the
  stage. A variable already set in the environment is left alone (except the thread counts).
"""

import os
import platform


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


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

_FLAGS = _cpu_flags() if platform.machine() in ("x86_64", "AMD64") else set()
if "avx2" in _FLAGS:
    # numpy's AVX-512 dispatch targets, each disabled only where the CPU has it (numpy refuses others)
    _NUMPY_AVX512 = {
        "AVX512F": {"avx512f"},
        "AVX512CD": {"avx512cd"},
        "AVX512_SKX": {"avx512bw", "avx512dq", "avx512vl"},
        "AVX512_CLX": {"avx512_vnni"},
        "AVX512_CNL": {"avx512ifma", "avx512vbmi"},
        "AVX512_ICL": {"avx512_vbmi2", "avx512_bitalg", "avx512_vpopcntdq"},
        "AVX512_SPR": {"avx512_fp16"},
    }
    _disable = [name for name, needs in _NUMPY_AVX512.items() if needs <= _FLAGS]
    for _var, _value in (
        ("NPY_DISABLE_CPU_FEATURES", " ".join(_disable)),
        ("OPENBLAS_CORETYPE", "Haswell"),
        ("MKL_CBWR", "AVX2"),
        ("ONEDNN_MAX_CPU_ISA", "AVX2"),
        ("NUMBA_CPU_NAME", "generic"),
        ("ATEN_CPU_CAPABILITY", "avx2"),
    ):
        if _value:
            os.environ.setdefault(_var, _value)
