"""The synthetic dancers move like real dance: as much as the real AIST++ sequences (per torso
length), feet that leave the floor and land on the beats their step pattern names, bigger moves on
downbeats, kinetic beats on musical beats."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from pipelines.data import synthetic as syn
from pipelines.data.datasets import load_keypoints
from pipelines.data.skeleton import Skeleton
from pipelines.evaluation.beats import beat_align_score
from pipelines.evaluation.motion_stats import STATS, motion_stats, summarize_stats
from pipelines.features.motion import extract_motion_features

from ..helpers import base_params

COCO = Skeleton("coco17")
FPS = syn.MOTION_FPS


@pytest.fixture(scope="module")
def dances() -> list[tuple[dict, np.ndarray, list]]:
    """24 sequences of the default configuration, spread over its plan (every genre), with their steps."""
    params = base_params()
    _, seqs = syn.plan_synthetic(params["datasets"]["synthetic"], params["seed"])
    picked = [seqs[i] for i in np.linspace(0, len(seqs) - 1, 24).astype(int)]
    return [(s, *syn.sequence_dance(s, seed=params["seed"])) for s in picked]


def test_synthetic_dancers_move_as_much_as_real_ones(dances, aistpp_root):
    real = [
        motion_stats(keypoints=load_keypoints(f, "keypoints3d"), skeleton=COCO, fps=60)
        for f in sorted((aistpp_root / "annotations" / "keypoints3d").glob("*.pkl"))
    ]
    assert len(real) >= 4
    real_range = summarize_stats(per_sequence=real)
    ours = summarize_stats(per_sequence=[motion_stats(keypoints=kp, skeleton=COCO, fps=FPS) for _, kp, _ in dances])
    assert {s["piece"].genre for s, _, _ in dances} == set(syn.GENRE_STYLE)
    for key in STATS:
        lo, hi, med = real_range[key]["min"], real_range[key]["max"], ours[key]["median"]
        assert lo < med < hi, f"{key}: synthetic median {med:.3f} outside the real range [{lo:.3f}, {hi:.3f}]"


def landing_feet(token: str) -> tuple[int, ...]:
    """Which feet (0 left, 1 right) land on a beat with this step token."""
    if token[0] == "B":
        return (0, 1)
    return {"L": (0,), "R": (1,)}.get(token[0], ())


def contact_onsets(ankle: np.ndarray, *, fps: float, min_air_frames: int = 6) -> np.ndarray:
    """Frames where a foot (ankle track (T, 3), cm, y up) comes to rest low after being in the air:
    within 3 cm of its low (5th percentile) and slower than 25 cm/s, after ``min_air_frames`` without."""
    smooth = gaussian_filter1d(ankle, sigma=2, axis=0, mode="nearest")
    height = smooth[:, 1] - np.percentile(smooth[:, 1], 5)
    speed = np.linalg.norm(np.gradient(smooth, axis=0) * fps, axis=-1)
    contact = (height < 3.0) & (speed < 25.0)
    onsets = [
        t for t in range(min_air_frames, len(contact)) if contact[t] and not contact[t - min_air_frames : t].any()
    ]
    return np.array(onsets, dtype=int)


def test_feet_land_on_the_beats_their_step_pattern_names(dances):
    """Every landing the step pattern plans is a contact onset of that foot within 4 frames (67 ms) of
    its beat (plus the dancer's lag behind the music, at most 40 ms), after the foot has really left
    the floor; and no foot lands anywhere else."""
    seed = base_params()["seed"]
    planned = found = 0
    for seq, kp, steps in dances:
        lag = syn.dancer_style(seq["dancer"], seed)["lag_s"]
        assert 0 <= lag <= 0.04
        for foot, joint in enumerate((15, 16)):
            onsets = contact_onsets(kp[:, joint], fps=FPS)
            planned_here = np.array([(t + lag) * FPS for t, token in steps if foot in landing_feet(token)])
            lands = planned_here[planned_here < len(kp) - 8]  # a landing needs a few frames after it to be seen
            assert lands.size, (seq["name"], foot)
            for frame in lands:
                near = onsets[np.abs(onsets - frame) <= 4]
                assert near.size == 1, (seq["name"], foot, frame / FPS, onsets / FPS)
                before = kp[max(int(frame) - 20, 0) : int(frame), joint, 1]
                assert before.max() - kp[int(near[0]), joint, 1] > 8.0, (seq["name"], foot, frame / FPS)
            off_beat = [o for o in onsets if np.abs(planned_here - o).min() > 4]
            assert not off_beat, (seq["name"], foot, np.array(off_beat) / FPS)
            planned += lands.size
            found += sum(np.abs(onsets - f).min() <= 4 for f in lands)
    assert found == planned > 200


def test_downbeats_get_bigger_moves(dances):
    """Accents: the knees bend deeper and the feet lift higher on and before downbeats than on other
    beats (averaged over sequences and genres)."""
    dip = {True: [], False: []}
    lift = {True: [], False: []}
    for seq, kp, steps in dances:
        period, metre = seq["piece"].beat_period_s, seq["piece"].metre
        root = kp[:, [11, 12], 1].mean(axis=1)
        for k, (t, token) in enumerate(steps):
            frame = int(round(t * FPS))
            if frame + 3 >= len(kp) or frame - int(period * FPS) < 0:
                continue
            down = k % metre == 0
            dip[down].append(np.median(root) - root[frame + 1])
            prev = slice(frame - int(period * FPS), frame)
            for foot in landing_feet(token):
                ankle = kp[:, 15 + foot, 1]
                lift[down].append(ankle[prev].max() - ankle[frame + 1])
    assert np.mean(dip[True]) > 1.2 * np.mean(dip[False]), (np.mean(dip[True]), np.mean(dip[False]))
    assert np.mean(lift[True]) > 1.1 * np.mean(lift[False]), (np.mean(lift[True]), np.mean(lift[False]))


def test_kinetic_beats_fall_on_musical_beats(dances):
    scores, shifted = [], []
    for seq, kp, steps in dances:
        f = extract_motion_features(kp, skeleton=COCO, fps=FPS, max_nan_fraction=0.5, kinetic_min_separation_s=0.2)
        kinetic = np.flatnonzero(f["kinetic_beats"]) / FPS
        beats = np.array([t for t, _ in steps])
        scores.append(beat_align_score(music_beats_s=beats, kinetic_beats_s=kinetic))
        shifted.append(beat_align_score(music_beats_s=beats + seq["piece"].beat_period_s / 2, kinetic_beats_s=kinetic))
    assert np.median(scores) > 0.8 and np.median(shifted) < 0.5 * np.median(scores), (scores, shifted)


def test_dances_are_deterministic(dances):
    params = base_params()
    seq, kp, steps = dances[3]
    again, steps_again = syn.sequence_dance(seq, seed=params["seed"])
    np.testing.assert_array_equal(kp, again)
    assert steps == steps_again
