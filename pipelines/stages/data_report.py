"""Stage ``data_report``: a Markdown report with figures describing the prepared data.

``python -m pipelines.stages.data_report --params params.yaml``

Writes ``results/<dataset>/data_report/report.md``, ``summary.json`` and ``figures/*.png``:
sequence durations, tempo histogram, NaN frames per sequence, windows per genre and split,
beat-tracking F-measure against ground truth (synthetic data), BeatAlign between music
beats and kinetic beats, and how much the dancers move (:mod:`pipelines.evaluation.motion_stats`:
mean joint speed, wrist speed, foot lift and root bounce per torso length; median and range over
the sequences) beside the same numbers for the real AIST++ sequences in
``datasets.aistpp.root``/``annotations/keypoints3d`` (array ``datasets.aistpp.keypoints``), when
they are there; when they are not, the report says so in one line (they are read, not tracked,
so the DAG is the same on a machine without them).
"""

from __future__ import annotations

import logging

from ..cli import run_stage
from ..config import Paths
from ..files import atomic_dir
from ..reports.data import collect, render

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    data = collect(params)
    with atomic_dir(paths.data_report) as tmp:
        render(data, tmp, dataset=params["dataset"])
    log.info("data report written to %s", paths.data_report / "report.md")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
