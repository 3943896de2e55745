"""AIST++: 60 fps COCO-17 keypoints (``annotations/keypoints3d``) and the music pieces
``m{GENRE}{0-5}.wav``, split by the dataset's own crossmodal split files.

``datasets.aistpp.source``: ``local`` reads the tree at ``root`` / ``music_dir``; ``download``
adds stage ``download_aistpp`` (:mod:`pipelines.stages.download_aistpp`) and reads its target.
"""

from __future__ import annotations

from pathlib import Path

from ..stage import Stage
from .record import Dataset

NAME = "aistpp"
#: Motion frame rate, frames/s.
FPS = 60
#: AIST++ genre codes (the synthetic dataset uses them too).
GENRE_NAMES = {
    "BR": "break",
    "PO": "pop",
    "LO": "lock",
    "WA": "waack",
    "MH": "middle hip-hop",
    "LH": "LA hip-hop",
    "HO": "house",
    "KR": "krump",
    "JS": "street jazz",
    "JB": "ballet jazz",
}


def location(params: dict) -> tuple[Path, Path]:
    """(root, music_dir) of the AIST++ tree: the configured folders, or the download target."""
    cfg = params["datasets"][NAME]
    if cfg["source"] == "download":
        target = Path(params["download_aistpp"]["target"])
        return target, target / "music"
    return Path(cfg["root"]), Path(cfg["music_dir"])


def _source_deps(params: dict) -> list[str]:
    root, music_dir = location(params)
    return [f"{root}/annotations", str(music_dir)]


def _extra_stages(params: dict) -> list[Stage]:
    if params["datasets"][NAME]["source"] != "download":
        return []
    target = params["download_aistpp"]["target"]
    return [
        Stage(
            "download_aistpp",
            [],
            ["download_aistpp"],
            [f"{target}/annotations", f"{target}/music"],
            out_dirs=[f"{target}/annotations", f"{target}/music"],
        )
    ]


def _keypoints(params: dict) -> str:
    return params["datasets"][NAME]["keypoints"]


def _build_index(params: dict, skips):
    from ..data.datasets import index_aist_layout

    cfg = params["datasets"][NAME]
    root, music_dir = location(params)
    return index_aist_layout(
        root,
        music_dir,
        keypoints=_keypoints(params),
        val_fraction=cfg["val_fraction"],
        seed=params["seed"],
        skips=skips,
    )


DATASET = Dataset(
    name=NAME,
    motion_fps=FPS,
    skeleton="coco17",
    source_deps=_source_deps,
    build_index=_build_index,
    genre_names=GENRE_NAMES,
    extra_stages=_extra_stages,
    keypoints=_keypoints,
)
