"""The user command `python -m pipelines.families.dance2music`: pose or video in, music (and the video with it) out."""

import subprocess
import sys
import wave

import numpy as np
import pytest
import torch

from pipelines.config import REPO_ROOT
from pipelines.datasets import motion_fps
from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
from pipelines.families.dance2music.data import RHYTHM_CHANNELS
from pipelines.families.dance2music.model import PoseToAudio
from pipelines.families.dance2music.tokenizer import token_layout
from pipelines.ingest.youtube import ffmpeg_exe
from pipelines.stages import acquire, audio_features
from pipelines.training.checkpoint import save_checkpoint

from ..helpers import make_params, require, write_params

pytestmark = pytest.mark.slow


def _checkpoint(path, params, *, joints: int, fps: float):
    """A generator with random weights for a skeleton of ``joints`` joints at ``fps``, with the rhythm
    channels and the aligned decoder input (the command's plumbing does not depend on what the
    weights learned)."""
    layout = token_layout(params)
    arch = {
        "pose_dim": joints * 6 + RHYTHM_CHANNELS,
        "aligned": True,
        "pose_fps": float(fps),
        "width": 16,
        "heads": 2,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "dropout": 0.0,
        "cond_drop": 0.0,
    }
    torch.manual_seed(0)
    model = PoseToAudio(
        codebook_size=layout["codebook_size"],
        n_codebooks=layout["n_codebooks"],
        frame_rate=layout["frame_rate"],
        **arch,
    )
    cfg = {**params["dance2music"], "seconds": 2.0}
    return save_checkpoint(
        path,
        state_dict=model.state_dict(),
        model="dance2music",
        arch=arch,
        layout=layout,
        params={"dance2music": cfg, "seed": 0, "dataset": params["dataset"], "kinetic_min_separation_s": 0.2},
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    params = make_params(tmp)
    acquire.main(params)
    audio_features.main(params)
    fit_tokenizer.main(params)
    return tmp, params, write_params(tmp / "params.yaml", params)


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.families.dance2music", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )


def test_pose_file_gives_a_wav_as_long_as_the_dance(setup):
    tmp, params, cfg = setup
    ckpt = _checkpoint(tmp / "g.pt", params, joints=24, fps=motion_fps(params))
    joints = np.random.default_rng(0).normal(size=(150, 24, 3))  # 5 s at 30 fps: resampled to the model's 60
    joints[10:20] = np.nan  # nobody there for a moment: masked, not dropped
    np.savez(tmp / "pose.npz", joints=joints, fps=30.0)
    out = _run("--pose", tmp / "pose.npz", "--checkpoint", ckpt, "--out", tmp / "music.wav", "--params", cfg)
    assert out.returncode == 0, out.stderr
    with wave.open(str(tmp / "music.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(5.0, abs=0.1)


def test_bad_inputs_give_one_line(setup):
    tmp, params, cfg = setup
    ckpt = _checkpoint(tmp / "g.pt", params, joints=24, fps=60)
    np.savez(tmp / "empty.npz", joints=np.full((40, 24, 3), np.nan), fps=30.0)
    np.savez(tmp / "coco.npz", joints=np.zeros((40, 17, 3)), fps=30.0)
    for pose, reason in (("empty.npz", "no person found in any of its 40 frames"), ("coco.npz", "pose has 17 joints")):
        out = _run("--pose", tmp / pose, "--checkpoint", ckpt, "--out", tmp / "x.wav", "--params", cfg)
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert out.returncode == 1 and len(errors) == 1 and reason in errors[0] and pose in errors[0]
        assert not (tmp / "x.wav").exists()
    out = _run("--pose", tmp / "coco.npz", "--checkpoint", tmp / "missing.pt", "--out", tmp / "x.wav", "--params", cfg)
    assert out.returncode == 1 and "missing.pt: checkpoint not found" in out.stderr


def test_video_gets_the_generated_music_as_its_sound(setup):
    """MediaPipe on the real YouTube clip, a 33-landmark generator, the clip muxed with its music."""
    tmp, params, cfg = setup
    clip = require(REPO_ROOT.parent / "shared" / "data" / "youtube" / "clip_0_0" / "video.mp4")
    ckpt = _checkpoint(tmp / "mp.pt", params, joints=33, fps=24)
    out = _run("--video", clip, "--checkpoint", ckpt, "--out", tmp / "with_music.mp4", "--params", cfg)
    assert out.returncode == 0, out.stderr
    probe = subprocess.run([ffmpeg_exe(), "-i", str(tmp / "with_music.mp4")], capture_output=True, text=True).stderr
    assert "Video:" in probe and "Audio: aac" in probe
    # a video with nobody in it: one line
    black = tmp / "black.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=160x120:d=1:r=24",
            "-pix_fmt",
            "yuv420p",
            str(black),
        ],
        check=True,
    )
    out = _run("--video", black, "--checkpoint", ckpt, "--out", tmp / "b.mp4", "--params", cfg)
    assert out.returncode == 1 and "black.mp4: no person found in any of its 24 frames" in out.stderr
    assert not (tmp / "b.mp4").exists()
