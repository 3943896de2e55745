"""Stage ``motion_features``: per-sequence motion features.

``python -m pipelines.stages.motion_features --params params.yaml``

One ``<sequence>.npz`` per sequence holds (T motion frames at the dataset's fps, J joints,
E = J − 1 bones of the dataset's :class:`~pipelines.data.skeleton.Skeleton`):

=================  ===========  ==============================================================
``joints``         (T, J, 3)    root-centred joints in body units (1 = mean torso length)
``root``           (T, 3)       root (pelvis) trajectory relative to frame 0, body units
``bones``          (T, E, 3)    bone vectors child − parent, pointing away from the root, body units
``velocity``       (T, J, 3)    joint velocity in the world frame, body units / s
``speed``          (T,)         mean joint speed, body units / s
``kinetic_beats``  (T,)         1 on kinetic beats (local minima of smoothed ``speed``), else 0
``nan_mask``       (T,)         1 where the source frame had NaN (values there are interpolated)
``scale_cm``       ()           the body unit in source units (cm for AIST++ / MusicToDance)
``fps``            ()           frames per second
=================  ===========  ==============================================================

``--part I/N`` (the DAG's ``motion_features_part<I>`` jobs when ``cluster.fan_out`` N > 1) does only
every N-th sequence from the I-th into ``features/motion.part<I>of<N>/``; stage ``gather_parts`` joins the
parts into the folder one job would have written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cli import n_workers, parallel_map, part_path, run_stage, take_part
from ..config import Paths
from ..data.datasets import load_keypoints
from ..data.items import index_sequences
from ..errors import InputError, Skips
from ..features.motion import motion_features_for
from ..files import atomic_dir

log = logging.getLogger(__name__)


def _one_sequence(job: tuple):
    row, params, out_dir = job
    try:
        kp = load_keypoints(row["motion_path"], row["motion_key"])
        feats = motion_features_for(kp, params, source=row["motion_path"])
    except InputError as err:
        return row["sequence"], err
    np.savez(Path(out_dir) / f"{row['sequence']}.npz", **feats)
    return row["sequence"], None


def main(params: dict, *, part: tuple[int, int] | None = None) -> None:
    paths = Paths(params)
    rows = take_part(index_sequences(params), part)
    skips = Skips(params["on_error"])
    with atomic_dir(part_path(paths.motion_features, part)) as tmp:
        for name, err in parallel_map(_one_sequence, [(r, params, tmp) for r in rows], workers=n_workers(params)):
            if err is not None:
                skips.handle(name, err)
        skips.write(tmp / "skipped.csv")
    log.info("motion features: %d sequences, %d skipped", len(rows) - len(skips.rows), len(skips.rows))


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
