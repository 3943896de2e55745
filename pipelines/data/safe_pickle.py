"""A restricted unpickler for AIST++ annotation files.

AIST++ ships its annotations as pickle files downloaded from the internet, and
``pickle.load`` on such a file runs whatever code the file names. :func:`load_pickle`
admits only numpy arrays, numpy dtypes and numpy scalars inside plain containers
(dict, list, tuple, str, numbers); any other class or function named by the file is
refused before anything is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from ..errors import InputError

# (module, name) pairs a numpy array pickle needs; numpy 2 renamed numpy.core -> numpy._core.
_ALLOWED = {
    (mod, name) for mod in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused foreign class {module}.{name}")


def _check_no_objects(value, path: Path) -> None:
    if isinstance(value, np.ndarray) and value.dtype.hasobject:
        raise InputError(path, "holds an object-dtype array; only numeric arrays are admitted")
    if isinstance(value, dict):
        for v in value.values():
            _check_no_objects(v, path)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_no_objects(v, path)


def load_pickle(path: str | Path):
    """Load a pickle holding only numpy arrays and plain containers.

    Raises
    ------
    InputError
        If the file is missing, truncated, or names any other class.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        value = _RestrictedUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        raise InputError(path, f"unsafe or corrupt pickle: {exc}") from exc
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InputError(path, f"corrupt pickle: {type(exc).__name__}: {exc}") from exc
    _check_no_objects(value, path)
    return value


def load_pickle_dict(path: str | Path, *, required: tuple[str, ...]) -> dict:
    """Load a pickled dict and check it has the ``required`` keys."""
    value = load_pickle(path)
    if not isinstance(value, dict):
        raise InputError(path, f"expected a dict, found {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        raise InputError(path, f"missing keys {missing}; has {sorted(value)}")
    return value
