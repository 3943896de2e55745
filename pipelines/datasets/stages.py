"""The data stages of the configured dataset, in DAG order, and what they give the model families.

The dataset's own stages (:attr:`Dataset.extra_stages`: a download, an ingestion), then
``acquire`` (index), ``audio_features`` and ``motion_features`` (fanned out with
``cluster.fan_out``), ``windows``, ``shards`` and ``data_report``. Everything that differs
between datasets comes from its record (:func:`pipelines.datasets.dataset`).
"""

from __future__ import annotations

from ..cli import fan_out_jobs, n_workers
from ..config import Paths
from ..stage import CAPTION, Stage, fan_out
from . import dataset
from .record import DataContext


def data_stages(params: dict) -> tuple[list[Stage], DataContext]:
    """The data stages for the configured dataset (in DAG order) and the paths the families read."""
    d = dataset(params)
    p = Paths(params)
    workers = n_workers(params)
    index, afeat, mfeat = str(p.index), str(p.audio_features), str(p.motion_features)
    win, shards, report = str(p.windows), str(p.shards), str(p.data_report)
    source = d.source_deps(params)
    motion_src = source + d.motion_deps(params)
    # a generated dataset writes its source tree in acquire, which then reads nothing
    acquire_inputs = [] if d.generate is not None else list(motion_src)
    acquire_outs = ([str(p.raw)] if d.generate is not None else []) + [index]
    ground_truth = d.ground_truth(params)
    frame = list(d.frame_params)
    codes = [d.codes(params)[0]] if d.codes is not None else []
    jobs = fan_out_jobs(params)
    features = Stage(
        "audio_features", [index] + source, ["audio", "on_error"] + frame, [afeat], out_dirs=[afeat], threads=workers
    )
    motion = Stage(
        "motion_features",
        [index] + motion_src,
        ["motion", "on_error"] + frame,
        [mfeat],
        out_dirs=[mfeat],
        threads=workers,
    )
    stages = [
        *d.extra_stages(params),
        Stage(
            "acquire",
            acquire_inputs,
            ["dataset", "seed", "on_error", f"datasets.{d.name}"],
            acquire_outs,
            out_dirs=acquire_outs,
            threads=workers,
        ),
        *fan_out(features, jobs=jobs, what="audio_features", inputs=[index]),
        *fan_out(motion, jobs=jobs, what="motion_features", inputs=[index]),
        Stage("windows", [index, afeat, mfeat], ["windows", "alignment", "on_error"] + frame, [win], out_dirs=[win]),
        Stage("shards", [win, afeat, mfeat] + codes, ["shards"] + frame, [shards], out_dirs=[shards]),
        Stage(
            "data_report",
            [index, win, afeat, mfeat] + ground_truth,
            # the real AIST++ sequences it compares with are read if present, not tracked: same DAG without them
            ["evaluate.beat_align_sigma_s", "datasets.aistpp.root", "datasets.aistpp.keypoints"],
            [f"{report}/report.md", f"{report}/figures"],
            out_dirs=[f"{report}/figures"],
            metrics=[f"{report}/summary.json"],
            captions={f"{report}/report.md": CAPTION["data_report"]},
        ),
    ]
    data = DataContext(
        index=index,
        audio_features=afeat,
        motion_features=mfeat,
        shards=shards,
        sources=motion_src,
        rhythm_inputs=[afeat, mfeat] + ground_truth,
        labelled=d.labelled,
    )
    return stages, data
