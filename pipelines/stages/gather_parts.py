"""Stage ``<stage>`` when a per-item stage fans out: join its parts into the output one job writes.

``python -m pipelines.stages.gather_parts --params params.yaml --what pose_summary``

With ``cluster.fan_out`` N > 1 the per-item stages run as N jobs each (``<stage>_part<I>``,
``--part I/N``: every N-th item from the I-th, so 1000 clips and N = 100 make 100 jobs of 10
clips that a cluster runs side by side): pose, stems and encodec per clip, audio_features per
piece, motion_features per sequence. This stage joins the parts, byte for byte into what one
job over every item writes, so the stages after it cannot tell how the work was split:

- a clip stage's summary (``--what pose_summary|stems_summary|codes_summary``): the rows of
  ``<target>/<what>.part<I>of<N>.json``, in clip order, into ``<target>/<what>.json``;
- a feature folder (``--what audio_features|motion_features``): the files of
  ``features/<audio|motion>.part<I>of<N>/`` linked (hard links where the filesystem allows,
  copies elsewhere) into ``features/<audio|motion>/``, and their ``skipped.csv`` rows in the
  stage's own item order.

A part that has not run is one line naming its output.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ..cli import fan_out_jobs, part_path, run_stage
from ..config import Paths
from ..data.items import index_pieces, index_sequences
from ..errors import InputError
from ..files import atomic_dir, read_csv, write_csv, write_json
from ..ingest.clips import gather_summaries, summary_file

log = logging.getLogger(__name__)

CLIP_SUMMARIES = ("pose_summary", "stems_summary", "codes_summary")
FEATURES = ("audio_features", "motion_features")


def item_order(params: dict, what: str) -> list[str]:
    """The items of a feature stage in the order one job handles them (its skipped.csv order)."""
    if what == "audio_features":
        return [piece for piece, _ in index_pieces(params)]
    return [row["sequence"] for row in index_sequences(params)]


def gather_folder(params: dict, what: str, *, parts: int) -> Path:
    """Join the part folders of a feature stage into its folder (module docstring)."""
    target = Paths(params).audio_features if what == "audio_features" else Paths(params).motion_features
    folders = [part_path(target, (i, parts)) for i in range(parts)]
    for i, folder in enumerate(folders):
        if not folder.is_dir():
            raise InputError(folder, f"part {i} of {parts} has not run (its stage writes this folder)")
    order = {item: k for k, item in enumerate(item_order(params, what))}
    skipped = []
    with atomic_dir(target) as tmp:
        for folder in folders:
            for f in sorted(folder.iterdir()):
                if f.name == "skipped.csv":
                    skipped += read_csv(f)
                elif f.is_file():
                    try:
                        os.link(f, tmp / f.name)
                    except OSError:
                        shutil.copy2(f, tmp / f.name)
        skipped.sort(key=lambda row: order.get(row["item"], len(order)))
        write_csv(tmp / "skipped.csv", skipped, fieldnames=["item", "path", "reason"])
    return target


def main(params: dict, *, what: str) -> None:
    parts = fan_out_jobs(params)
    if what in FEATURES:
        out = gather_folder(params, what, parts=parts)
    else:
        target = Path(params["youtube"]["target"])
        out = write_json(summary_file(target, what), gather_summaries(target, what, parts=parts))
    log.info("%s: %d parts -> %s", what, parts, out)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], options={"what": CLIP_SUMMARIES + FEATURES}))
