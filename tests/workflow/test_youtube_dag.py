"""``dataset: youtube`` through Snakemake, offline, on a clip list that points at the real
local video: clips -> pose, stems -> EnCodec codes -> features -> 120-frame windows aligned
with their codes -> shards."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the shards' Blosc filter with h5py)
import numpy as np
import pytest
import torch

from pipelines.config import REPO_ROOT
from pipelines.families.dance2music.data import RHYTHM_CHANNELS
from pipelines.files import read_csv
from pipelines.ingest.youtube import ffmpeg_exe
from pipelines.tools.random_encodec import save_random_encodec

from ..helpers import make_params, venv_python, write_params

pytestmark = pytest.mark.slow  # runs a whole (small) pipeline


@pytest.fixture(scope="module")
def youtube_workflow(shared_data, tmp_path_factory):
    venv_python(".venv-pose")
    tmp = tmp_path_factory.mktemp("youtube_dag")
    work = tmp / "wf"
    work.mkdir()
    for item in ("workflow", "pipelines"):
        shutil.copytree(REPO_ROOT / item, work / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("Snakefile", "Makefile", "requirements-pose.txt"):
        shutil.copy2(REPO_ROOT / item, work / item)  # copy2 keeps mtimes: make sees .venv-pose as current
    (work / ".venv-pose").symlink_to(REPO_ROOT / ".venv-pose")
    video = shared_data / "youtube" / "clip_0_0" / "video.mp4"
    # the real clip as three source videos, so that dance to music has train, val and test clips
    copies = {split: tmp / f"{split}_video.mp4" for split in ("val", "test")}
    for copy in copies.values():
        shutil.copy2(video, copy)
    links = tmp / "links.csv"
    links.write_text(
        f"{video},00:00:00,00:00:10\nmissing/video.mp4,00:00:00,00:00:05\n"
        + "".join(f"{copy},00:00:00,00:00:05\n" for copy in copies.values())
    )
    save_random_encodec(tmp / "encodec")
    params = make_params(tmp, dataset="youtube", on_error="skip")  # the missing video is listed, the run goes on
    # the one real clip freezes after about a second (tests/ingest/test_pose.py): the pose stage
    # flags it, so keep flagged clips here to run the pipeline on real video at all
    params["datasets"]["youtube"]["drop_glitchy"] = False
    params["datasets"]["youtube"]["splits"] = {split: [str(copy)] for split, copy in copies.items()}
    params["dance2music"]["tokenizer"] = "encodec"  # dance to music on EnCodec codes (random weights of the real model)
    params.update(data_dir="data", results_dir="results", models_dir="models")
    params["youtube"].update(links=str(links), target="data/youtube/clips")
    params["encodec"]["model"] = str(tmp / "encodec")
    write_params(work / "params.yaml", params)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def smk(*args):
        return subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "2", *args],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
        )

    run = smk("all")
    assert run.returncode == 0, run.stderr[-3000:] + "".join(
        p.read_text()[-2000:] for p in (work / "logs").glob("*.log")
    )
    return work, params, smk


def test_clips_poses_codes_and_aligned_shards(youtube_workflow):
    work, params, _ = youtube_workflow
    clips = work / "data" / "youtube" / "clips"
    manifest = read_csv(clips / "manifest.csv")
    assert [(m["clip"], m["status"]) for m in manifest] == [
        ("clip_0_0", "ok"),
        ("clip_0_1", "ok"),
        ("clip_1", "failed"),
        ("clip_2_0", "ok"),
        ("clip_3_0", "ok"),
    ]
    assert "not found" in manifest[2]["reason"]
    (skipped,) = read_csv(clips / "skipped.csv")
    assert skipped["item"] == "clip_1" and skipped["reason"].startswith("line 2: missing/video.mp4: local file")
    for clip in ("clip_0_0", "clip_0_1"):
        with np.load(clips / clip / "pose.npz") as pose:
            assert pose["world"].shape == (120, 33, 3) and pose["detected"].shape == (120,)  # no frame dropped
    with h5py.File(work / "data" / "youtube" / "shards" / "w120_train.h5") as f:
        assert f.attrs["motion_fps"] == 24 and f.attrs["skeleton"] == "mediapipe33" and f.attrs["code_frame_rate"] == 75
        assert f["motion/joints"].shape == (2, 120, 33, 3) and f["audio/logmel"].shape[:2] == (2, 120)
        codes = f["codes/encodec"][:]
        names = [r["sequence"].decode() for r in f["index"][:]]
    assert codes.shape == (2, 375, 2) and len(np.unique(codes)) > 10
    for i, clip in enumerate(names):
        with np.load(clips / clip / "codes.npz") as z:
            assert np.array_equal(codes[i], z["codes"].T[:375])
    report = (work / "results" / "youtube" / "data_report" / "report.md").read_text()
    assert "120-frame windows" in report


def test_dance_to_music_trains_and_is_scored_on_the_clips(youtube_workflow, shared_data, tmp_path):
    """The clips' MediaPipe pose (33 landmarks at 24 fps) and their music as EnCodec codes, one clip per
    split; then the command puts the trained generator's music under the real video."""
    work, params, _ = youtube_workflow
    r = json.loads((work / "results" / "youtube" / "dance2music" / "evaluation.json").read_text())
    assert sorted(r["runs"]) == ["seed0", "seed1"] and (r["train_windows"], r["test_windows"]) == (2, 1)
    ckpt = torch.load(work / "models" / "youtube" / "dance2music" / "seed0.pt", weights_only=True)
    assert ckpt["arch"]["pose_dim"] == 33 * 6 + RHYTHM_CHANNELS and ckpt["arch"]["pose_fps"] == 24
    real = r["baselines"]["real"]["audio"]
    assert real["crossmodal"] is None and "no retrieval model" in real["why_not"] and 0 <= real["beat_align"] <= 1
    (sample,) = r["samples"]
    assert sample["sequence"] == "clip_3_0"
    assert (work / "results" / "youtube" / "dance2music" / "samples" / sample["videos"]["generated"]).stat().st_size > 0
    assert r["tokenizer"] == "encodec" and ckpt["layout"]["n_codebooks"] == 2 and ckpt["layout"]["frame_rate"] == 75
    assert not (work / "models" / "youtube" / "dance2music" / "tokenizer.npz").exists()  # EnCodec needs no fit
    out = tmp_path / "with_music.mp4"
    video = shared_data / "youtube" / "clip_0_0" / "video.mp4"
    cmd = [sys.executable, "-m", "pipelines.families.dance2music", "--video", str(video), "--out", str(out)]
    cmd += ["--checkpoint", str(work / "models" / "youtube" / "dance2music" / "seed0.pt"), "--params", "params.yaml"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = subprocess.run([ffmpeg_exe(), "-i", str(out)], capture_output=True, text=True).stderr
    assert "Video:" in probe and "Audio: aac" in probe


def _jobs(run: subprocess.CompletedProcess) -> set[str]:
    """The rules in the "Job stats" table of a Snakemake run or dry run (none when nothing ran)."""
    text = run.stdout + run.stderr
    if "Job stats:" not in text:
        return set()
    stats = text.split("Job stats:")[1].split("total")[0]
    return {line.split()[0] for line in stats.splitlines()[3:] if line.strip()}


def test_second_run_reuses_and_a_pose_change_redoes_only_pose(youtube_workflow, tmp_path, monkeypatch):
    """README: changing ``pose:`` reruns MediaPipe but no download, cut, separation or encoding.
    A threshold (read only by the quality figures) reruns stage ``pose``, which recomputes the flags
    from the stored landmarks without MediaPipe; ``model_complexity`` (what MediaPipe reads) reruns
    it, and the stage then poses every clip again. Neither reruns youtube_clips, stems or encodec."""
    work, params, smk = youtube_workflow
    dry = smk("-n", "all")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    clips = work / "data" / "youtube" / "clips"
    names = [r["clip"] for r in json.loads((clips / "pose_summary.json").read_text())]
    mtimes = lambda name: {  # noqa: E731
        n: (clips / c / name).stat().st_mtime_ns for n, c in enumerate(names) if (clips / c / name).exists()
    }
    before = {f: mtimes(f) for f in ("video.mp4", "audio.wav", "drums_bass.wav", "codes.npz", "pose.npz")}
    assert len(before["pose.npz"]) == len(names) == 4

    # a threshold: the pose job reruns, the quality flags change, MediaPipe does not run
    params["pose"]["min_resolution"] = 100_000  # every clip is now too small
    write_params(work / "params.yaml", params)
    run = smk("all")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = _jobs(run)
    assert {"pose", "acquire", "shards"} <= jobs and not jobs & {"youtube_clips", "stems", "encodec"}, jobs
    assert {f: mtimes(f) for f in before} == before  # pose.npz included: no clip was posed again
    rows = json.loads((clips / "pose_summary.json").read_text())
    assert all(r["reused"] and r["flags"][-1].endswith("shorter side < 100000") for r in rows), rows

    # model_complexity: the pose job is scheduled again, and nothing before or beside it ...
    params["pose"]["model_complexity"] = 0
    write_params(work / "params.yaml", params)
    dry = smk("-n", "all")
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = _jobs(dry)
    assert "pose" in jobs and not jobs & {"youtube_clips", "stems", "encodec"}, jobs
    # ... and the stage runs MediaPipe on every clip again. Only the full model (complexity 1) ships
    # in the wheel (0 and 2 are downloads), so the stage runs here, on a copy of the clips, with
    # MediaPipe replaced by a recorder that returns the stored landmarks.
    import pipelines.stages.pose as pose_stage

    copy = tmp_path / "clips"
    shutil.copytree(clips, copy)
    posed = []

    def mediapipe(video, *, model_complexity):
        posed.append((video.parent.name, model_complexity))
        with np.load(video.parent / "pose.npz") as z:
            return dict(z)

    monkeypatch.setattr(pose_stage, "estimate_pose", mediapipe)
    rows = pose_stage.process_clips(copy, params["pose"])
    assert posed == [(name, 0) for name in names] and not any(r["reused"] for r in rows)
    assert all(r["reused"] for r in pose_stage.process_clips(copy, params["pose"])) and len(posed) == len(names)
    params["pose"].update(model_complexity=1, min_resolution=240)
    write_params(work / "params.yaml", params)  # the workflow copy as the fixture left it
