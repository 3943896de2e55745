"""Stage ``acquire``: obtain the configured dataset and index its sequences.

``python -m pipelines.stages.acquire --params params.yaml``

- ``synthetic``: generate the embedded dataset into ``data/synthetic/raw`` (AIST++ layout,
  see :mod:`pipelines.data.synthetic`), then index it like a real AIST++ tree.
- ``aistpp``: index the AIST++ tree at ``datasets.aistpp.root`` / ``music_dir`` (or, with
  ``source: download``, the tree that stage ``download_aistpp`` fetched).
- ``musictodance``: index the dance folders at ``datasets.musictodance.root``.
- ``youtube``: index the clips of stage ``youtube_clips`` that have a pose (stage ``pose``).

Outputs ``index/sequences.csv`` (see :mod:`pipelines.data.datasets`), ``index/skipped.csv``
(bad inputs dropped under ``on_error: skip``), ``index/excluded.csv`` (the dataset's own
ignore list) and ``index/info.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..cli import run_stage
from ..config import MOTION_FPS, Paths, aistpp_location
from ..data.datasets import INDEX_FIELDS, index_aist_layout, index_musictodance, index_youtube
from ..data.synthetic import generate_synthetic
from ..errors import InputError, Skips
from ..files import atomic_dir, write_csv

log = logging.getLogger(__name__)


def build_index(params: dict, skips: Skips) -> tuple[list[dict], list[dict], dict]:
    dataset, seed = params["dataset"], params["seed"]
    if dataset == "musictodance":
        cfg = params["datasets"]["musictodance"]
        return index_musictodance(
            Path(cfg["root"]),
            val_fraction=cfg["val_fraction"],
            test_fraction=cfg["test_fraction"],
            seed=seed,
            skips=skips,
            motion_fps=MOTION_FPS[dataset],
            splits=cfg["splits"],
        )
    if dataset == "youtube":
        cfg = params["datasets"]["youtube"]
        return index_youtube(
            Paths(params).clips,
            val_fraction=cfg["val_fraction"],
            test_fraction=cfg["test_fraction"],
            drop_glitchy=cfg["drop_glitchy"],
            seed=seed,
            skips=skips,
            splits=cfg["splits"],
        )
    if dataset == "synthetic":
        root = Paths(params).raw
        return index_aist_layout(
            root, root / "music", keypoints="keypoints3d", val_fraction=0.1, seed=seed, skips=skips
        )
    cfg = params["datasets"]["aistpp"]
    root, music_dir = aistpp_location(params)
    return index_aist_layout(
        root, music_dir, keypoints=cfg["keypoints"], val_fraction=cfg["val_fraction"], seed=seed, skips=skips
    )


def main(params: dict) -> None:
    paths = Paths(params)
    if params["dataset"] == "synthetic":
        with atomic_dir(paths.raw) as tmp:
            generate_synthetic(params, tmp)
    skips = Skips(params["on_error"])
    with atomic_dir(paths.index) as tmp:
        rows, excluded, info = build_index(params, skips)
        if not rows:
            raise InputError(paths.index, "no usable sequences (see skipped.csv when on_error: skip)")
        write_csv(tmp / "sequences.csv", rows, fieldnames=INDEX_FIELDS)
        skips.write(tmp / "skipped.csv")
        write_csv(tmp / "excluded.csv", excluded, fieldnames=["item", "path", "reason"])
        info.update(
            {
                "dataset": params["dataset"],
                "sequences": len(rows),
                "skipped": len(skips.rows),
                "excluded": len(excluded),
                "per_split": {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")},
            }
        )
        (tmp / "info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    log.info(
        "indexed %d sequences (%s), skipped %d, excluded %d",
        len(rows),
        info["per_split"],
        len(skips.rows),
        len(excluded),
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
