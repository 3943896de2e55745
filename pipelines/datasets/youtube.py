"""YouTube clips: cut from the videos in ``youtube.links`` (stage ``youtube_clips``), posed by
MediaPipe (33 landmarks, stage ``pose``), their music separated (``stems``) and encoded
(``encodec``). Unlabelled: every clip is its own piece, genre ``YT``; split by source video.

The frame rate and the window (one per clip, ``youtube.window_seconds * youtube.fps`` frames)
come from the ``youtube`` section; the per-clip results live in the clip folders, which only
the ingestion stages' summary files track.
"""

from __future__ import annotations

from pathlib import Path

from ..cli import fan_out_jobs, n_workers
from ..config import Paths
from ..stage import Stage, fan_out
from .record import Dataset

NAME = "youtube"


def _manifest(params: dict) -> list[str]:
    return [str(Paths(params).clips / "manifest.csv")]


def _pose_summary(params: dict) -> list[str]:
    return [str(Paths(params).clips / "pose_summary.json")]


def _codes(params: dict) -> tuple[str, Path]:
    clips = Paths(params).clips
    return str(clips / "codes_summary.json"), clips


def _windows(params: dict) -> list[dict]:
    frames = int(round(params["youtube"]["window_seconds"] * params["youtube"]["fps"]))
    return [{"frames": frames, "stride": frames}]


def ingest_stages(params: dict) -> list[Stage]:
    """YouTube ingestion: clip list -> clips -> pose, stems -> EnCodec codes.

    Per-clip results live in the clip folders, which are not declared outputs (Snakemake and
    DVC delete outputs before rerunning a stage); each stage's declared output is its summary
    file, and a rerun redoes only the clips whose stage params changed. With ``cluster.fan_out``
    N > 1 each per-clip stage fans out (:func:`pipelines.stage.fan_out`).
    """
    clips = Paths(params).clips
    manifest = str(clips / "manifest.csv")
    backend = params["stems"]["backend"]
    per_clip = [
        Stage("youtube_clips", [params["youtube"]["links"]], ["youtube"], [manifest]),
        Stage(
            "pose",
            [manifest],
            ["pose"],
            [str(clips / "pose_summary.json")],
            requires=["requirements-pose.txt"],
            env="pose",
            threads=n_workers(params),
        ),
        Stage(
            "stems",
            [manifest],
            ["stems"] + (["device", "cuda"] if backend == "demucs" else []),
            [str(clips / "stems_summary.json")],
            requires=["requirements-spleeter.txt"] if backend == "spleeter" else [],
            gpu=backend != "hpss",
            env="spleeter" if backend == "spleeter" else "pipeline",
        ),
        Stage(
            "encodec",
            [str(clips / "stems_summary.json")],
            ["encodec", "device", "cuda"],
            [str(clips / "codes_summary.json")],
            gpu=True,
        ),
    ]
    jobs = fan_out_jobs(params)
    return per_clip[:1] + [
        s for stage in per_clip[1:] for s in fan_out(stage, jobs=jobs, what=Path(stage.outs[0]).stem)
    ]


def _build_index(params: dict, skips):
    from ..data.datasets import index_youtube

    cfg = params["datasets"][NAME]
    return index_youtube(
        Paths(params).clips,
        val_fraction=cfg["val_fraction"],
        test_fraction=cfg["test_fraction"],
        drop_glitchy=cfg["drop_glitchy"],
        seed=params["seed"],
        skips=skips,
        splits=cfg["splits"],
    )


DATASET = Dataset(
    name=NAME,
    motion_fps=lambda params: int(params["youtube"]["fps"]),
    skeleton="mediapipe33",
    source_deps=_manifest,
    build_index=_build_index,
    labelled=False,
    genre_names={"YT": "unlabelled (YouTube clip)"},
    extra_stages=ingest_stages,
    motion_deps=_pose_summary,
    frame_params=("youtube.fps", "youtube.window_seconds"),
    windows=_windows,
    codes=_codes,
)
