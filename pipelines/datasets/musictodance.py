"""MusicToDance: 25 fps 23-joint skeletons (``DANCE_*/skeletons.json``) with their music
(``audio.mp3``), split by dance (``datasets.musictodance.splits`` or random fractions)."""

from __future__ import annotations

from pathlib import Path

from .record import Dataset

NAME = "musictodance"
#: Motion frame rate, frames/s.
FPS = 25
GENRE_NAMES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}


def _source_deps(params: dict) -> list[str]:
    return [params["datasets"][NAME]["root"]]


def _build_index(params: dict, skips):
    from ..data.datasets import index_musictodance

    cfg = params["datasets"][NAME]
    return index_musictodance(
        Path(cfg["root"]),
        val_fraction=cfg["val_fraction"],
        test_fraction=cfg["test_fraction"],
        seed=params["seed"],
        skips=skips,
        motion_fps=FPS,
        splits=cfg["splits"],
    )


DATASET = Dataset(
    name=NAME,
    motion_fps=FPS,
    skeleton="mtd23",
    source_deps=_source_deps,
    build_index=_build_index,
    genre_names=GENRE_NAMES,
)
