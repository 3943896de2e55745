"""A dataset's record (:class:`Dataset`) and what the data stages give the model families
(:class:`DataContext`), without importing numpy or torch (the DAG imports this module)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # light at run time: the DAG imports this module
    from ..errors import Skips
    from ..stage import Stage

#: What an index function returns: (sequences.csv rows, excluded rows, info.json entries).
Index = tuple[list[dict], list[dict], dict]


def _none(params: dict) -> list:
    return []


@dataclass(frozen=True)
class Dataset:
    """One dataset: its facts (frame rate, skeleton, genres) and the hooks the data stages call.

    Every hook takes ``params`` (validated params.yaml); paths are returned as strings relative
    to the repository root, as the DAG declares them. Hooks that need numpy or the index code
    import it inside themselves, so listing the record costs nothing at DAG-parse time.
    """

    name: str  # params.yaml `dataset`, its section `datasets.<name>`, data/<name>/, results/<name>/
    motion_fps: int | Callable[[dict], int]  # motion frame rate, frames/s (a hook where params set it)
    skeleton: str  # joint layout (pipelines.data.skeleton.Skeleton)
    # the source files the features read (music, motion): inputs of acquire and the feature stages
    source_deps: Callable[[dict], list[str]]
    build_index: Callable[[dict, Skips], Index]  # stage acquire: the sequences, the excluded ones, info
    labelled: bool = True  # genres and pieces known (families with Family.needs_labels run on it)
    genre_names: Mapping[str, str] = field(default_factory=dict, hash=False)  # genre code -> name (data report)
    # writes the source tree into the given folder (Paths.raw) before acquire indexes it: the
    # synthetic dataset. Acquire then outputs Paths.raw instead of reading the source files.
    generate: Callable[[dict, Path], None] | None = None
    extra_stages: Callable[[dict], list[Stage]] = _none  # stages before acquire (download, ingestion)
    # files tracking motion that lives outside source_deps (YouTube: the pose summary, whose
    # checksums cover the clip folders): read by acquire and motion_features, given to the families
    motion_deps: Callable[[dict], list[str]] = _none
    # files with ground-truth beats (the synthetic set's generated tree): data report and rhythm inputs
    ground_truth: Callable[[dict], list[str]] = _none
    # params that set the frame rate or the windows (YouTube: youtube.fps, youtube.window_seconds):
    # params of the feature, windows and shards stages besides their own sections
    frame_params: tuple[str, ...] = ()
    # window lengths and strides, frames ([{frames, stride}]); None: params["windows"]
    windows: Callable[[dict], list[dict]] | None = None
    # EnCodec codes the shards stage stores with each window: (the file whose checksums track
    # them, the folder of per-clip code files); None: no codes
    codes: Callable[[dict], tuple[str, Path]] | None = None
    # the array of an AIST++-layout keypoint pickle the dataset reads (keypoints3d or
    # keypoints3d_optim); None where its motion is in another layout
    keypoints: Callable[[dict], str] | None = None

    def fps(self, params: dict) -> int:
        """Motion frame rate, frames/s."""
        return int(self.motion_fps(params)) if callable(self.motion_fps) else self.motion_fps

    def window_specs(self, params: dict) -> list[dict]:
        """Window lengths and strides, frames."""
        return self.windows(params) if self.windows is not None else params["windows"]


@dataclass(frozen=True)
class DataContext:
    """What the data stages give the model families: the paths (as strings) they read."""

    index: str
    audio_features: str
    motion_features: str
    shards: str
    sources: list[str]  # the dataset's source files (music, motion) the stages read besides the features
    rhythm_inputs: list[str]  # what the rhythm protocol reads (features; the synthetic set's ground-truth beats)
    labelled: bool  # genres and pieces known (every dataset but YouTube clips)
