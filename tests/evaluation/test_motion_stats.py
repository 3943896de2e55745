"""Motion statistics (how much a dancer moves) against hand-made sequences with known values, on real
MusicToDance skeletons (not COCO), and the data report's comparison with the real AIST++ sequences."""

import json

import numpy as np
import pytest

from pipelines.data.skeleton import Skeleton
from pipelines.evaluation.motion_stats import (
    STATS,
    fill_nan_frames,
    foot_lift,
    joint_speed,
    motion_stats,
    root_bounce,
    summarize_stats,
    torso_length,
    wrist_speed,
)
from pipelines.reports.data import motion_stats_lines, real_aistpp_motion_stats

from ..helpers import base_params

COCO = Skeleton("coco17")
#: A standing COCO body, cm, y up: shoulders 40 cm above the hips (torso length 40), ankles on the floor.
STANDING = np.array(
    [
        [0, 160, 5], [3, 163, 4], [-3, 163, 4], [7, 162, 0], [-7, 162, 0],
        [10, 140, 0], [-10, 140, 0], [20, 120, 0], [-20, 120, 0], [25, 100, 0], [-25, 100, 0],
        [10, 100, 0], [-10, 100, 0], [10, 55, 0], [-10, 55, 0], [10, 10, 0], [-10, 10, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
TORSO = 40.0


def still(T: int = 200) -> np.ndarray:
    return np.broadcast_to(STANDING, (T, 17, 3)).copy()


def test_torso_length_is_the_mean_scale_edge():
    assert torso_length(keypoints=still(), skeleton=COCO) == pytest.approx(TORSO)


def test_a_still_body_does_not_move():
    s = motion_stats(keypoints=still(), skeleton=COCO, fps=60)
    assert list(s) == list(STATS)
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in s.values())


def test_constant_speed_translation():
    """Every joint moves 120 cm/s = 3 torso lengths/s sideways; heights do not change."""
    T, fps = 120, 60
    kp = still(T)
    kp[..., 0] += 120.0 * np.arange(T)[:, None] / fps
    assert joint_speed(keypoints=kp, skeleton=COCO, fps=fps) == pytest.approx(3.0)
    assert wrist_speed(keypoints=kp, skeleton=COCO, fps=fps) == pytest.approx(3.0)
    assert foot_lift(keypoints=kp, skeleton=COCO) == pytest.approx(0.0)
    assert root_bounce(keypoints=kp, skeleton=COCO) == pytest.approx(0.0)
    # the same body in metres, at 30 fps over half the frames: per torso length nothing changes but time
    assert joint_speed(keypoints=kp[::2] / 100, skeleton=COCO, fps=30) == pytest.approx(3.0)


def test_only_the_wrists_move():
    T, fps = 100, 50
    kp = still(T)
    kp[:, [9, 10], 1] += 80.0 * np.arange(T)[:, None] / fps  # 80 cm/s = 2 torso lengths/s, up
    assert wrist_speed(keypoints=kp, skeleton=COCO, fps=fps) == pytest.approx(2.0)
    assert joint_speed(keypoints=kp, skeleton=COCO, fps=fps) == pytest.approx(2.0 * 2 / 17)


def test_foot_lifted_by_a_known_height():
    """The left ankle is 20 cm (half a torso) up for half the frames, the right one stays down:
    the left foot lifts 0.5, the right 0, their mean 0.25 torso lengths."""
    kp = still(200)
    kp[50:150, 15, 1] += 20.0
    assert foot_lift(keypoints=kp, skeleton=COCO) == pytest.approx(0.25)
    kp[50:150, 16, 1] += 20.0
    assert foot_lift(keypoints=kp, skeleton=COCO) == pytest.approx(0.5)
    # a short lift (under 5 % of the frames) does not set the 95th percentile
    kp = still(200)
    kp[10:15, 15, 1] += 20.0
    assert foot_lift(keypoints=kp, skeleton=COCO) == pytest.approx(0.0)


def test_root_bounce_of_a_known_height():
    """The whole body drops 12 cm (0.3 torso lengths) in the middle third of the frames."""
    kp = still(300)
    kp[100:200, :, 1] -= 12.0
    assert root_bounce(keypoints=kp, skeleton=COCO) == pytest.approx(0.3)
    assert foot_lift(keypoints=kp, skeleton=COCO) == pytest.approx(0.3)  # the feet sink with it: p5 is lower


def test_nan_frames_are_interpolated():
    T, fps = 120, 60
    kp = still(T)
    kp[..., 0] += 120.0 * np.arange(T)[:, None] / fps
    holes = kp.copy()
    holes[[30, 31, 32, 90]] = np.nan
    holes[60, 3] = np.nan  # one joint missing also blanks its frame
    np.testing.assert_allclose(fill_nan_frames(keypoints=holes), kp)
    edge = kp.copy()
    edge[:2] = np.nan  # before the first finite frame: held at its value
    np.testing.assert_allclose(fill_nan_frames(keypoints=edge)[:3], kp[[2, 2, 2]])
    assert motion_stats(keypoints=holes, skeleton=COCO, fps=fps) == pytest.approx(
        motion_stats(keypoints=kp, skeleton=COCO, fps=fps)
    )
    with pytest.raises(ValueError, match="all 3 frames"):
        fill_nan_frames(keypoints=np.full((3, 17, 3), np.nan))


def test_a_sequence_without_a_finite_frame_says_so_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" on the way
        with pytest.raises(ValueError, match="all 20 frames have NaN"):
            motion_stats(keypoints=np.full((20, 17, 3), np.nan), skeleton=COCO, fps=60)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="expected"):
        joint_speed(keypoints=np.zeros((10, 23, 3)), skeleton=COCO, fps=60)


def test_summary_is_median_and_range():
    per = [dict.fromkeys(STATS, v) for v in (1.0, 3.0, 2.0)]
    per[1]["foot_lift"] = float("nan")
    s = summarize_stats(per_sequence=per)
    assert s["joint_speed"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert s["foot_lift"] == {"median": 1.5, "min": 1.0, "max": 2.0, "n": 2}


@pytest.mark.parametrize("layout", ["mtd23", "mediapipe33"])
def test_other_skeletons_scale_free(layout):
    """Any layout with wrists and feet: the statistics of a body are those of the same body 100 times
    larger (cm vs m) and do not depend on where it stands."""
    sk = Skeleton(layout)
    rng = np.random.default_rng(0)
    body = rng.normal(0, 30, size=(1, sk.num_joints, 3))
    kp = body + np.cumsum(rng.normal(0, 1, size=(90, sk.num_joints, 3)), axis=0)
    a = motion_stats(keypoints=kp, skeleton=sk, fps=25)
    b = motion_stats(keypoints=kp / 100 + 7, skeleton=sk, fps=25)
    assert all(np.isfinite(v) and v > 0 for v in a.values())
    assert a == pytest.approx(b)


def test_on_real_musictodance_skeletons(mtd_root):
    """MusicToDance (mtd23, 25 fps): a dancer in motion, numbers of the same order as AIST++'s."""
    sk = Skeleton("mtd23")
    for dance in sorted(mtd_root.glob("DANCE_*")):
        kp = np.asarray(json.loads((dance / "skeletons.json").read_text())["skeletons"], dtype=np.float64)
        s = motion_stats(keypoints=kp, skeleton=sk, fps=25)
        assert 0.1 < s["joint_speed"] < 10 and 0.1 < s["wrist_speed"] < 15, (dance.name, s)
        assert 0.01 < s["foot_lift"] < 2 and 0.01 < s["root_bounce"] < 2, (dance.name, s)


def test_data_report_sets_real_aistpp_beside_or_says_it_cannot(aistpp_root, tmp_path):
    """The data report's table: the real AIST++ sequences' statistics when ``datasets.aistpp.root`` holds
    them, one line saying so (and no failure) when it does not."""
    params = base_params()
    params["datasets"]["aistpp"]["root"] = str(aistpp_root)
    real, _ = real_aistpp_motion_stats(params)
    n = len(list((aistpp_root / "annotations" / "keypoints3d").glob("*.pkl")))
    assert all(s["n"] == n and s["min"] <= s["median"] <= s["max"] for s in real.values())
    data = {"motion_stats": real, "motion_stats_aistpp": real, "aistpp_keypoints_dir": "x"}
    table = [line for line in motion_stats_lines(data, dataset="aistpp") if line.startswith("|")]
    assert len(table) == 2 + len(STATS) and f"real AIST++ ({n} sequences)" in table[0]

    params["datasets"]["aistpp"]["root"] = str(tmp_path / "nowhere")
    missing, folder = real_aistpp_motion_stats(params)
    assert missing is None and folder.startswith(str(tmp_path))
    lines = motion_stats_lines({**data, "motion_stats_aistpp": None, "aistpp_keypoints_dir": folder}, dataset="x")
    assert sum("not found" in line for line in lines) == 1
    assert all(line.count("|") == 3 for line in lines if line.startswith("|"))
