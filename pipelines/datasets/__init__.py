"""Every dataset, listed once, and the per-dataset facts the stages read.

Each dataset is one module here, ``pipelines/datasets/<name>.py``, declaring its record
(:class:`Dataset`): frame rate, skeleton, genre names, source files, index function, splits,
and any stages of its own (``download_aistpp``, the YouTube ingestion). :data:`DATASETS` lists
the records; the DAG (:mod:`pipelines.datasets.stages`), stage ``acquire`` and the libraries
ask the configured one (:func:`dataset`) and spell no dataset name.

Adding a dataset (README checklist):

1. ``pipelines/datasets/<name>.py`` defining ``DATASET = Dataset(name="<name>", ...)``;
2. its import and entry in :data:`DATASETS` below;
3. its section ``datasets.<name>`` in params.yaml, and that section's schema under
   ``datasets`` in ``workflow/schemas/params.schema.json``.

No torch, numpy or librosa at module level anywhere in this package: the DAG imports it.
"""

from __future__ import annotations

from .aistpp import DATASET as AISTPP
from .musictodance import DATASET as MUSICTODANCE
from .record import DataContext, Dataset
from .synthetic import DATASET as SYNTHETIC
from .youtube import DATASET as YOUTUBE

__all__ = [
    "AISTPP",
    "DATASETS",
    "MUSICTODANCE",
    "SYNTHETIC",
    "YOUTUBE",
    "DataContext",
    "Dataset",
    "audio_sample_rate",
    "dataset",
    "motion_fps",
    "skeleton_layout",
    "window_specs",
]

#: The datasets, by name (params.yaml ``dataset``).
DATASETS: dict[str, Dataset] = {d.name: d for d in (SYNTHETIC, AISTPP, MUSICTODANCE, YOUTUBE)}


def dataset(params: dict) -> Dataset:
    """The configured dataset's record (params.yaml ``dataset``).

    Raises
    ------
    ParamsError
        One line naming the unknown dataset and the known ones.
    """
    name = params["dataset"]
    if name not in DATASETS:
        from ..config import ParamsError

        raise ParamsError(
            f"params.yaml: dataset: no dataset {name!r} in pipelines/datasets (known: {', '.join(DATASETS)})"
        )
    return DATASETS[name]


def motion_fps(params: dict) -> int:
    """Motion frame rate of the configured dataset, frames/s."""
    return dataset(params).fps(params)


def skeleton_layout(params: dict) -> str:
    """Joint layout of the configured dataset (:class:`pipelines.data.skeleton.Skeleton`)."""
    return dataset(params).skeleton


def window_specs(params: dict) -> list[dict]:
    """Window lengths and strides (frames) of the configured dataset.

    ``params["windows"]`` for the motion-capture datasets; for ``youtube`` one window per
    clip, ``youtube.window_seconds * youtube.fps`` frames (120 = 5 s at 24 fps), so every
    window lines up with its clip's EnCodec codes.
    """
    return dataset(params).window_specs(params)


def audio_sample_rate(params: dict) -> int:
    """Analysis sample rate, Hz: ``motion_fps * hop_length`` so audio frames match motion frames."""
    return motion_fps(params) * params["audio"]["hop_length"]
