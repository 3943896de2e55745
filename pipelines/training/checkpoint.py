"""One checkpoint format for every model: a plain dict of tensors, numbers, strings, lists and dicts.

:func:`save_checkpoint` writes it atomically (temporary file, then rename);
:func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``, which refuses any
pickled object other than tensors and plain containers, so a checkpoint cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import InputError
from ..files import atomic_file


def save_checkpoint(path: Path, *, state_dict: dict, **meta) -> Path:
    """Write ``{"state_dict": <CPU tensors>, **meta}`` to ``path``; ``meta`` holds plain values only."""
    checkpoint = {"state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}, **meta}
    with atomic_file(Path(path), "wb") as fh:
        torch.save(checkpoint, fh)
    return Path(path)


def load_checkpoint(path: Path, *, missing_hint: str = "run its training stage first") -> dict:
    """The checkpoint dict at ``path`` (tensors on the CPU); a missing or unreadable file is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"checkpoint not found: {missing_hint}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ... on bad files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable checkpoint ({reason[:200]})") from exc
