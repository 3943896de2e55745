"""Dance-to-music examples: no pose frame dropped, tokens starting with the pose."""

import numpy as np
import pytest

from pipelines.data.generation import generation_windows, pose_inputs, take_codes


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
