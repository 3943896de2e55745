"""Stage ``acquire``: obtain the configured dataset and index its sequences.

``python -m pipelines.stages.acquire --params params.yaml``

The dataset's record (:mod:`pipelines.datasets`) says how: a generated dataset (``synthetic``)
first writes its source tree into ``data/<dataset>/raw`` (:attr:`Dataset.generate`); then
:attr:`Dataset.build_index` indexes the sequences (the AIST++ tree at ``datasets.aistpp.root``
or the download, the MusicToDance dance folders, the YouTube clips that have a pose...).

Outputs ``index/sequences.csv`` (see :mod:`pipelines.data.datasets`), ``index/skipped.csv``
(bad inputs dropped under ``on_error: skip``), ``index/excluded.csv`` (the dataset's own
ignore list) and ``index/info.json``.
"""

from __future__ import annotations

import json
import logging

from ..cli import run_stage
from ..config import Paths
from ..data.datasets import INDEX_FIELDS
from ..datasets import dataset
from ..errors import InputError, Skips
from ..files import atomic_dir, write_csv

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths, ds = Paths(params), dataset(params)
    if ds.generate is not None:
        with atomic_dir(paths.raw) as tmp:
            ds.generate(params, tmp)
    skips = Skips(params["on_error"])
    with atomic_dir(paths.index) as tmp:
        rows, excluded, info = ds.build_index(params, skips)
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
