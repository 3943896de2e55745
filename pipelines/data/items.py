"""The items the per-item feature stages work through, in their order (one place, so a stage split
into parts and the stage that gathers the parts agree on it)."""

from __future__ import annotations

from ..config import Paths
from ..files import read_csv


def index_pieces(params: dict) -> list[tuple[str, str]]:
    """``(piece, audio_path)`` of every piece in the index, sorted: stage ``audio_features``'s items."""
    return sorted({(r["piece"], r["audio_path"]) for r in read_csv(Paths(params).index / "sequences.csv")})


def index_sequences(params: dict) -> list[dict]:
    """The index's rows in file order: stage ``motion_features``'s items (one per sequence)."""
    return read_csv(Paths(params).index / "sequences.csv")
