"""Dance-to-music examples: no pose frame dropped, tokens starting with the pose."""

import numpy as np
import pytest

from pipelines.families.dance2music.data import (
    RHYTHM_CHANNELS,
    dataset_examples,
    generation_windows,
    pose_inputs,
    sequence_examples,
    take_codes,
)
from pipelines.features.motion import interpolate_nan_frames, kinetic_beats


def test_undetected_frames_keep_their_place_and_their_mask():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(50, 33, 3))
    joints[10:15] = np.nan
    joints[30, 4] = np.nan  # one joint missing: the frame counts as undetected
    features, mask = pose_inputs(joints, fps=24)
    assert features.shape == (50, 33 * 6) and features.dtype == np.float32 and np.isfinite(features).all()
    assert mask.sum() == 50 - 6 and not mask[10:15].any() and not mask[30] and mask[9] and mask[15]
    assert not features[10:15].any()
    # velocity needs both frames: 0 on the first frame after a gap, (x_t - x_{t-1}) * fps elsewhere
    assert not features[15, 99:].any()
    np.testing.assert_allclose(features[20, 99:].reshape(33, 3), (joints[20] - joints[19]) * 24, rtol=1e-5)
    # positions relative to the frame's centroid
    np.testing.assert_allclose(features[20, :99].reshape(33, 3).mean(0), 0, atol=1e-5)
    with pytest.raises(ValueError, match="frames, joints, 3"):
        pose_inputs(np.zeros((5, 3)), fps=24)


def test_rhythm_channels_pulse_on_the_kinetic_beats_the_motion_features_find():
    # joints swinging as |sin|: the body stops every half period (0.5 s at 60 fps), a kinetic beat each time
    fps, T = 60, 300
    t = np.arange(T) / fps
    rng = np.random.default_rng(2)
    base = rng.normal(size=(1, 17, 3))
    joints = base + np.abs(np.sin(np.pi * t / 0.5 + 0.3))[:, None, None] * rng.normal(size=(1, 17, 3))
    joints[100:104] = np.nan  # a gap: masked, and 0 in every channel
    features, mask = pose_inputs(joints, fps=fps, kinetic_min_separation_s=0.2)
    assert features.shape == (T, 17 * 6 + RHYTHM_CHANNELS) and np.isfinite(features).all()
    assert np.array_equal(features[:, : 17 * 6], pose_inputs(joints, fps=fps)[0])  # the pose channels are unchanged
    assert not features[100:104].any()
    pulse, speed = features[:, -2], features[:, -1]
    # the pulse peaks (1) exactly on the frames the motion features call kinetic beats
    filled, _ = interpolate_nan_frames(joints)  # as the motion features fill gaps
    ref_speed = np.linalg.norm(np.gradient(filled, axis=0) * fps, axis=-1).mean(axis=1)
    beats = kinetic_beats(speed=ref_speed, fps=fps, min_separation_s=0.2)
    assert len(beats) >= 8 and np.allclose(pulse[beats[mask[beats]]], 1.0)
    far = np.ones(T, bool)
    for b in beats:
        far[max(0, b - 8) : b + 9] = False
    assert pulse[far & mask].max() < 0.05  # a narrow bump: ~0 more than 8 frames (0.13 s) from a beat
    assert speed[beats].mean() < 0.2 * speed[mask].mean()  # beats sit where the body is still


def test_windows_start_pose_and_codes_together_and_stay_inside_the_clip():
    # a 12-s clip at 24 fps with codes at 75 Hz; 5-s windows every 2.5 s
    w = generation_windows(pose_frames=288, pose_fps=24, code_frames=900, code_rate=75, seconds=5, stride_seconds=2.5)
    assert [x["pose_start"] for x in w] == [0, 60, 120]  # 180 + 120 > 288
    assert all(x["pose_frames"] == 120 and x["code_frames"] == 375 for x in w)
    assert [x["code_start"] for x in w] == [0, 188, 375]  # round(t * 75 / 24)
    for x in w:
        assert abs(x["code_start"] / 75 - x["pose_start"] / 24) <= 0.5 / 75 + 1e-12  # half a code frame
    # audio a frame short of the last window is padded; far short, the window is left out
    short = generation_windows(pose_frames=120, pose_fps=24, code_frames=374, code_rate=75, seconds=5, stride_seconds=5)
    codes = np.arange(2 * 374).reshape(2, 374)
    part = take_codes(codes, short[0])
    assert part.shape == (2, 375) and (part[:, -1] == codes[:, -1]).all()
    assert (
        generation_windows(pose_frames=120, pose_fps=24, code_frames=300, code_rate=75, seconds=5, stride_seconds=5)
        == []
    )
    with pytest.raises(ValueError, match="end 75 frames before"):
        take_codes(codes[:, :300], short[0])


def test_audio_offsets_move_codes_or_pose_so_both_start_together():
    rng = np.random.default_rng(1)
    positions = rng.normal(size=(24 * 8, 17, 3))
    codes = np.arange(2 * 75 * 10).reshape(2, 750)
    kw = dict(positions=positions, pose_fps=24, codes=codes, code_rate=75, seconds=2, stride_seconds=2)
    late = sequence_examples(audio_offset_s=1.0, **kw)  # music 1 s ahead: pose frame 0 pairs with code 75
    assert late[0]["codes"][0, 0] == 75 and late[0]["pose_start"] == 0 and len(late) == 4
    early = sequence_examples(audio_offset_s=-0.5, **kw)  # music starts 0.5 s after the pose
    assert early[0]["codes"][0, 0] == 0 and early[0]["pose_start"] == 12
    assert all(e["pose"].shape == (48, 17 * 6) and e["codes"].shape == (2, 150) for e in late + early)


def test_dataset_examples_on_the_generated_data(tmp_path):
    from pipelines.config import Paths
    from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
    from pipelines.families.dance2music.files import tokenizer_files
    from pipelines.families.dance2music.tokenizer import MelKMeansTokenizer
    from pipelines.files import read_csv
    from pipelines.stages import acquire, audio_features, motion_features

    from ..helpers import make_params

    params = make_params(tmp_path)
    params["dance2music"].update(seconds=2.0, stride_seconds=2.0)
    for stage in (acquire, audio_features, motion_features, fit_tokenizer):
        stage.main(params)
    tok = MelKMeansTokenizer.load(tokenizer_files(params)["tokenizer"])
    examples = dataset_examples(params, split="train", tokenizer=tok)
    train = {r["sequence"] for r in read_csv(Paths(params).index / "sequences.csv") if r["split"] == "train"}
    assert examples and {e["sequence"] for e in examples} <= train
    code_frames = int(round(2.0 * tok.frame_rate))
    pose_dim = 17 * 6 + RHYTHM_CHANNELS  # dance2music.rhythm_pulse is on
    assert all(e["pose"].shape == (120, pose_dim) and e["codes"].shape == (2, code_frames) for e in examples)
    assert all(e["codes"].max() < tok.codebook_size for e in examples)
    # the generated set has sequences with NaN runs: their frames arrive masked, in place
    masked = [e for e in examples if not e["mask"].all()]
    assert masked and all(not e["pose"][~e["mask"]].any() for e in masked)
    # the pulse the model sees peaks on the kinetic beats the evaluation scores against
    for e in examples[:: max(1, len(examples) // 5)]:
        with np.load(Paths(params).motion_features / f"{e['sequence']}.npz") as z:
            beats = np.flatnonzero(z["kinetic_beats"][e["pose_start"] : e["pose_start"] + 120])
        beats = beats[e["mask"][beats]]
        assert len(beats) and np.allclose(e["pose"][beats, -2], 1.0)
    # tokens are the music's at the pose's time: a window's codes equal the tokens of its own audio span
    e = examples[len(examples) // 2]
    row = next(r for r in read_csv(Paths(params).index / "sequences.csv") if r["sequence"] == e["sequence"])
    from pipelines.data.audio_io import read_audio_mono

    y, sr = read_audio_mono(row["audio_path"], min_sample_rate=8000, min_seconds=0.5)
    t0 = e["pose_start"] / 60 + float(row["audio_offset_s"])
    direct = tok.tokenize(y[int(round(t0 * sr)) : int(round((t0 + 2.0) * sr))], sr=sr)
    inner = slice(5, code_frames - 5)  # away from the segment's edges, where the STFT sees other samples
    assert (direct[:, inner] == e["codes"][:, inner]).mean() > 0.9
