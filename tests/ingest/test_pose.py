"""The pose stage on the real YouTube clip, in its own environment (.venv-pose)."""

import json
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from pipelines.config import REPO_ROOT
from pipelines.ingest.pose import FrameStats, compare_to_reference, moving_frames, pose_quality

from ..helpers import make_params, venv_python, write_params


@pytest.fixture(scope="module")
def pose_python():
    return venv_python(".venv-pose")


CFG = {
    "min_detection_rate": 0.95,
    "max_jitter_m": 0.05,
    "frozen_diff": 0.1,
    "max_frozen_share": 0.25,
    "black_level": 16.0,
    "max_black_share": 0.25,
    "min_resolution": 240,
}


def test_quality_figures():
    world = np.zeros((10, 33, 3))
    world[5] = np.nan
    detected = np.isfinite(world).all(axis=(1, 2)).astype(np.uint8)
    q = pose_quality({"world": world, "detected": detected}, CFG)
    assert q["detection_rate"] == 0.9 and q["jitter_m"] == 0 and q["glitchy"]
    assert q["flags"] == ["detection rate 0.90 < 0.95"]
    world[5] = 0.0
    world[::2] += 1.0  # a landmark track that shakes by a metre every frame
    q = pose_quality({"world": world, "detected": np.ones(10, np.uint8)}, {**CFG, "min_detection_rate": 0.5})
    assert q["glitchy"] and q["jitter_m"] > 1 and len(q["flags"]) == 1


def _video_stats(frames: list[np.ndarray]) -> dict:
    stats = FrameStats()
    for f in frames:
        stats.add(f)
    return stats.arrays()


def test_frozen_black_and_tiny_videos_are_flagged_with_their_numbers():
    rng = np.random.default_rng(0)
    still = np.zeros((10, 33, 3))
    pose = {"world": still, "detected": np.ones(10, np.uint8)}
    moving = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(10)]
    q = pose_quality({**pose, **_video_stats(moving)}, CFG)
    assert not q["glitchy"] and q["frozen_share"] == 0 and q["black_share"] == 0 and q["frame_size"] == [320, 240]
    # frozen after the third frame: the picture repeats (plus encoder-like noise of one grey level on 1 % of pixels)
    stuck = moving[:3] + [moving[2].copy() for _ in range(7)]
    for f in stuck[3:]:
        f[rng.random(f.shape[:2]) < 0.01] += 1
    q = pose_quality({**pose, **_video_stats(stuck)}, CFG)
    assert q["glitchy"] and q["frozen_share"] == 0.7 and q["flags"] == ["70 % of frames frozen > 25 %"]
    dark = [(f // 32) for f in moving]  # mean grey about 4
    q = pose_quality({**pose, **_video_stats(dark)}, CFG)
    assert q["black_share"] == 1.0 and q["flags"] == ["100 % of frames black > 25 %"]
    tiny = [f[:120, :160] for f in moving]
    q = pose_quality({**pose, **_video_stats(tiny)}, CFG)
    assert q["flags"] == ["160x120 pixels, shorter side < 240"]
    # a pose.npz from before the video figures: pose flags only
    assert "frozen_share" not in pose_quality(pose, CFG)


def _run(pose_python, cfg, **kw):
    return subprocess.Popen(
        [pose_python, "-m", "pipelines.stages.pose", "--params", str(cfg)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_real_clip_matches_the_reference(pose_python, shared_data, tmp_path):
    clips = tmp_path / "clips"
    for k in range(3):  # three copies of the real clip: enough to kill the run between clips
        (clips / f"clip_0_{k}").mkdir(parents=True)
        shutil.copy(shared_data / "youtube" / "clip_0_0" / "video.mp4", clips / f"clip_0_{k}" / "video.mp4")
    params = make_params(tmp_path, workers=1)
    params["youtube"]["target"] = str(clips)
    cfg = write_params(tmp_path / "params.yaml", params)
    # kill the stage once the first clip is done (its stamp written), then rerun: the rerun poses
    # only the clips not done, and the result equals an uninterrupted run
    proc = _run(pose_python, cfg)
    deadline = time.time() + 300
    while not (clips / "clip_0_0" / ".pose.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the stage ended before it could be killed: " + proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = [(clips / f"clip_0_{k}" / ".pose.json").exists() for k in range(3)]
    assert done[0] and not done[2] and not (clips / "clip_0_2" / "pose.npz").exists()
    rerun = _run(pose_python, cfg)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err[-3000:]
    summary = json.loads((clips / "pose_summary.json").read_text())
    assert [s["clip"] for s in summary] == [f"clip_0_{k}" for k in range(3)]
    assert [s["reused"] for s in summary] == done  # the clips done before the kill, and only those
    results = [np.load(clips / f"clip_0_{k}" / "pose.npz") for k in range(3)]
    for r in results[1:]:
        np.testing.assert_array_equal(r["world"], results[0]["world"])
    world = results[0]["world"]
    assert world.shape[1:] == (33, 3) and results[0]["detected"].size == world.shape[0]
    assert abs(world.shape[0] - 241) <= 1  # 10 s at 24 fps, no frame dropped
    q = json.loads((clips / "clip_0_0" / "pose_quality.json").read_text())
    # the real clip stops changing after about a second (the source project's clip writer repeated
    # the frame; only encoder noise after that): MediaPipe finds a person in every frame, but the
    # video is flagged frozen
    assert q["detection_rate"] > 0.9 and q["glitchy"] and q["frozen_share"] > 0.8
    assert q["flags"] == [f"{100 * q['frozen_share']:.0f} % of frames frozen > 25 %"]
    moving = moving_frames(results[0]["frame_diff"], frozen_diff=0.1)
    assert 20 <= moving.sum() <= 30  # about the first second at 24 fps
    ref = np.load(shared_data / "youtube" / "clip_0_0" / "reference_landmarks_32x3.npy")
    # agreement with the original project's landmarks only where the video moves: on the frozen
    # picture the two trackers measure nothing but their own state
    agreement = compare_to_reference(results[0]["image"], ref, frames=moving)
    (tmp_path / "agreement.json").write_text(json.dumps(agreement))
    print("pose agreement with the reference over the moving frames:", agreement)
    assert agreement["frames_compared"] == moving.sum()
    assert agreement["median_xy_distance"] < 0.02 and agreement["pearson_r_xy"] > 0.99

    # the same clips posed by 2 worker processes: the same arrays and summary rows
    parallel = tmp_path / "parallel"
    shutil.copytree(clips, parallel, ignore=shutil.ignore_patterns("*.npz", "*.json", ".*"))
    params.update(workers=2)
    params["youtube"]["target"] = str(parallel)
    parallel_run = _run(pose_python, write_params(tmp_path / "params2.yaml", params))
    _, err = parallel_run.communicate(timeout=600)
    assert parallel_run.returncode == 0, err[-3000:]
    rows = json.loads((parallel / "pose_summary.json").read_text())
    assert [r["clip"] for r in rows] == [f"clip_0_{k}" for k in range(3)] and not any(r["reused"] for r in rows), err
    for k in range(3):
        with np.load(parallel / f"clip_0_{k}" / "pose.npz") as z:
            np.testing.assert_array_equal(z["world"], results[k]["world"])
