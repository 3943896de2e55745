import numpy as np
import pytest
import soundfile as sf

from pipelines.data import synthetic as syn
from pipelines.data.audio_io import read_audio_mono
from pipelines.data.datasets import load_keypoints
from pipelines.data.skeleton import Skeleton
from pipelines.errors import InputError
from pipelines.evaluation.beats import beat_align_score, beat_f_measure
from pipelines.features.audio import estimate_downbeats, extract_audio_features
from pipelines.features.motion import extract_motion_features, interpolate_nan_frames, kinetic_beats

AUDIO = dict(hop_length=512, n_fft=2048, n_mels=96, n_mfcc=20, tempogram_win_length=120, beats_per_bar=[2, 3, 4])


def _piece_audio(genre="JB", k=2, seconds=12.0, sr=22050, seed=0):
    rng = np.random.default_rng(seed)
    piece = syn.make_piece(genre, k, rng)
    y, beats = syn.synth_music(piece, seconds=seconds, sr=sr, rng=rng)
    return piece, y, beats


@pytest.mark.parametrize("fps", [60, 25])
def test_audio_frames_align_with_motion_frames(fps):
    _, y, _ = _piece_audio(seconds=6.0)
    f = extract_audio_features(y, sr_in=22050, sr=fps * 512, **AUDIO)
    n = f["logmel"].shape[0]
    assert abs(n - 6.0 * fps) <= 1
    assert f["logmel"].shape == (n, 96) and f["mfcc"].shape == (n, 20)
    assert f["onset_env"].shape == (n,) and f["tempogram"].shape == (n, 120)
    assert f["beats"].shape == f["downbeats"].shape == (n,)


def test_beats_tempo_and_metre_of_a_synthetic_piece():
    piece, y, beats = _piece_audio("JB", 2, seconds=16.0)  # 100 BPM in 3/4
    f = extract_audio_features(y, sr_in=22050, sr=30720, **AUDIO)
    est = f["beat_frames"] / 60
    assert beat_f_measure(estimated_s=est, reference_s=beats[:, 0]) > 0.9
    assert abs(float(f["tempo_bpm"]) - piece.bpm) < 5
    assert int(f["beats_per_bar"]) == 3
    down = np.flatnonzero(f["downbeats"]) / 60
    assert beat_f_measure(estimated_s=down, reference_s=beats[beats[:, 1] == 1, 0]) > 0.8


def test_downbeat_estimate_on_a_planted_accent():
    frames = np.arange(0, 4000, 40)
    accent = np.where(np.arange(frames.size) % 4 == 1, 3.0, 1.0)
    down, metre = estimate_downbeats(beat_frames=frames, beat_accent=accent, candidates=[3, 4])
    assert metre == 4 and np.array_equal(down, frames[1::4])


def test_bad_audio_inputs(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_audio_mono(empty, min_sample_rate=16000, min_seconds=1)
    good = tmp_path / "good.wav"
    sf.write(good, np.zeros(44100 * 2, np.float32), 44100)
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(good.read_bytes()[: 44 + 1000])
    with pytest.raises(InputError) as exc:
        read_audio_mono(trunc, min_sample_rate=16000, min_seconds=1)
    assert str(trunc) in str(exc.value)
    low = tmp_path / "low.wav"
    sf.write(low, np.zeros(8000 * 2, np.float32), 8000)
    with pytest.raises(InputError, match="sample rate 8000 Hz is below the minimum 16000 Hz"):
        read_audio_mono(low, min_sample_rate=16000, min_seconds=1)
    with pytest.raises(InputError, match="not found"):
        read_audio_mono(tmp_path / "nope.wav", min_sample_rate=16000, min_seconds=1)


def test_mp3_decodes(mtd_root):
    y, sr = read_audio_mono(mtd_root / "DANCE_W_23" / "audio.mp3", min_sample_rate=16000, min_seconds=1)
    assert sr == 44100 and y.ndim == 1 and y.size / sr > 30 and np.abs(y).max() > 0.05


def test_nan_interpolation_keeps_mask():
    kp = np.cumsum(np.ones((10, 2, 3)), axis=0)
    kp[3:5] = np.nan
    filled, mask = interpolate_nan_frames(kp)
    assert mask.tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(filled, np.cumsum(np.ones((10, 2, 3)), axis=0))


def test_all_nan_motion_is_refused():
    kp = np.full((50, 17, 3), np.nan)
    with pytest.raises(InputError, match="all 50 frames are NaN"):
        extract_motion_features(
            kp, skeleton=Skeleton("coco17"), fps=60, max_nan_fraction=0.5, kinetic_min_separation_s=0.2, source="x.pkl"
        )


def test_kinetic_beats_are_speed_minima():
    t = np.arange(600) / 60
    speed = np.abs(np.sin(np.pi * 2 * t)) + 0.1  # minima every 0.5 s
    kb = kinetic_beats(speed=speed, fps=60, min_separation_s=0.2) / 60
    assert beat_align_score(music_beats_s=np.arange(1, 9) * 0.5, kinetic_beats_s=kb, sigma_s=0.05) > 0.95


def test_motion_features_on_real_aistpp_with_nan(aistpp_root):
    sk = Skeleton("coco17")
    seen_nan = False
    for f in sorted((aistpp_root / "annotations" / "keypoints3d").glob("*.pkl")):
        kp = load_keypoints(f, "keypoints3d")
        feats = extract_motion_features(
            kp, skeleton=sk, fps=60, max_nan_fraction=0.5, kinetic_min_separation_s=0.2, source=str(f)
        )
        T = kp.shape[0]
        assert feats["joints"].shape == (T, 17, 3) and feats["bones"].shape == (T, 16, 3)
        assert feats["velocity"].shape == (T, 17, 3) and feats["speed"].shape == (T,)
        for k in ("joints", "bones", "velocity", "root"):
            assert np.isfinite(feats[k]).all(), k
        assert feats["nan_mask"].sum() == np.isnan(kp).any(axis=(1, 2)).sum()
        seen_nan |= bool(feats["nan_mask"].any())
        # root-centred and scale-normalised: hips around the origin, torso length ~1
        hips = feats["joints"][:, [11, 12]].mean(axis=1)
        assert np.abs(hips).max() < 1e-4
        torso = np.linalg.norm(feats["joints"][:, 5] - feats["joints"][:, 11], axis=-1).mean()
        assert 0.8 < torso < 1.2
        assert 30 < float(feats["scale_cm"]) < 70  # a real torso, in cm
        # kinetic beats: a dancer stops about 1-4 times a second
        rate = feats["kinetic_beats"].sum() / (T / 60)
        assert 0.5 < rate < 5
    assert seen_nan


def test_synthetic_motion_locks_to_the_beat():
    rng = np.random.default_rng(1)
    piece = syn.make_piece("HO", 2, rng)
    kp = syn.synth_motion(piece, seconds=12, dancer_scale=1.0, energy=1.0, lag_s=0.0, yaw=0.2, rng=rng)
    f = extract_motion_features(
        kp, skeleton=Skeleton("coco17"), fps=60, max_nan_fraction=0.5, kinetic_min_separation_s=0.2
    )
    kb = np.flatnonzero(f["kinetic_beats"]) / 60
    beats = piece.beat_times(12.0)
    score = beat_align_score(music_beats_s=beats, kinetic_beats_s=kb, sigma_s=0.1)
    shuffled = beat_align_score(music_beats_s=beats + piece.beat_period_s / 2, kinetic_beats_s=kb, sigma_s=0.1)
    assert score > 0.8 and score > shuffled
