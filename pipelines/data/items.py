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


def with_audio_features(paths: Paths, rows: list[dict]) -> list[dict]:
    """Index rows whose piece stage ``audio_features`` kept (under ``on_error: skip`` it leaves out
    unreadable or silent music, listed in its ``skipped.csv``)."""
    return [r for r in rows if (paths.audio_features / f"{r['piece']}.npz").exists()]


def with_features(paths: Paths, rows: list[dict]) -> list[dict]:
    """Index rows whose piece has audio features and whose sequence has motion features: what every
    stage after the feature stages works on."""
    return [r for r in with_audio_features(paths, rows) if (paths.motion_features / f"{r['sequence']}.npz").exists()]
