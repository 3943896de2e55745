"""Drum+bass stems (HPSS, HT-Demucs, Spleeter) on real audio and EnCodec codes with
random-weight models of the real architectures."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from pipelines.config import REPO_ROOT
from pipelines.errors import InputError
from pipelines.ingest.encodec import decode_codes, encode, frame_rate, load_encodec
from pipelines.ingest.stems import STEMS, hpss_stems
from pipelines.stages.encodec import process_clips
from pipelines.stages.stems import process_clips as stem_clips

from ..helpers import make_params, venv_python, write_params


def fresh(summary: list[dict]) -> int:
    """Clips a per-clip stage processed (not reused) in this call."""
    return sum(not r["reused"] for r in summary)


@pytest.fixture(scope="module")
def real_clip_audio(shared_data):
    from pipelines.data.audio_io import read_audio_mono

    y, sr = read_audio_mono(shared_data / "youtube" / "clip_0_0" / "audio.wav", min_sample_rate=8000, min_seconds=1)
    return y, sr


def test_hpss_on_real_audio(real_clip_audio):
    y, sr = real_clip_audio
    stems = hpss_stems(y, sr=sr, margin=1.0, bass_cutoff_hz=200.0)
    assert all(s.shape == y.shape for s in stems.values())
    spec = lambda x: np.abs(np.fft.rfft(x)) ** 2  # power spectrum  # noqa: E731
    freqs = np.fft.rfftfreq(y.size, 1 / sr)
    bass = spec(stems["bass"])
    assert bass[freqs > 1000].sum() < 0.001 * bass.sum()  # the bass stem is low-passed
    # percussive energy is more impulsive (higher crest factor of its envelope) than the input's
    env = lambda x: np.convolve(np.abs(x), np.ones(512) / 512, mode="same")  # noqa: E731
    crest = lambda x: env(x).max() / env(x).mean()  # noqa: E731
    assert crest(stems["drums"]) > crest(y)


def test_stems_stage_writes_and_reuses(real_clip_audio, tmp_path):
    y, sr = real_clip_audio
    d = tmp_path / "clip_0_0"
    d.mkdir()
    sf.write(d / "audio.wav", y[: 5 * sr], sr)
    cfg = {"backend": "hpss", "hpss_margin": 1.0, "bass_cutoff_hz": 200.0}
    assert fresh(stem_clips(tmp_path, cfg)) == 1 and fresh(stem_clips(tmp_path, cfg)) == 0
    for s in ("drums", "bass", "drums_bass"):
        z, zsr = sf.read(d / f"{s}.wav")
        assert zsr == sr and z.size == 5 * sr
    # changed params, or a newer input (an earlier stage redid the clip), redo the clip
    assert fresh(stem_clips(tmp_path, {**cfg, "bass_cutoff_hz": 150.0})) == 1
    assert fresh(stem_clips(tmp_path, {**cfg, "bass_cutoff_hz": 150.0})) == 0
    sf.write(d / "audio.wav", y[: 5 * sr], sr)
    assert fresh(stem_clips(tmp_path, {**cfg, "bass_cutoff_hz": 150.0})) == 1


def test_hpss_stage_keeps_clicks_and_bass_and_leaves_the_melody_out(tmp_path):
    """Clicks, a 100 Hz tone and a 1 kHz tone through the stage: the drum stem takes the clicks, the
    bass stem the low tone (harmonic, below ``bass_cutoff_hz``), and drums_bass both of them but
    not the 1 kHz tone (harmonic, above the cutoff), each measured in its own frequency band."""
    sr = 22050
    t = np.arange(3 * sr) / sr
    rng = np.random.default_rng(0)
    clicks = np.zeros_like(t)
    for start in np.arange(0.1, 3.0, 0.25):  # short noise bursts, 4 a second
        i = int(start * sr)
        clicks[i : i + 64] += 0.5 * rng.standard_normal(64) * np.exp(-np.arange(64) / 10)
    low, high = 0.2 * np.sin(2 * np.pi * 100 * t), 0.2 * np.sin(2 * np.pi * 1000 * t)
    d = tmp_path / "clip_0_0"
    d.mkdir()
    sf.write(d / "audio.wav", (clicks + low + high).astype(np.float32), sr, subtype="FLOAT")
    assert fresh(stem_clips(tmp_path, {"backend": "hpss", "hpss_margin": 1.0, "bass_cutoff_hz": 200.0})) == 1
    mix = sf.read(d / "audio.wav")[0]
    f = np.fft.rfftfreq(mix.size, 1 / sr)
    bands = {"clicks": (f > 2000) & (f < 8000), "100 Hz": np.abs(f - 100) < 3, "1 kHz": np.abs(f - 1000) < 3}
    power = lambda x: np.abs(np.fft.rfft(x)) ** 2  # noqa: E731
    # in each band one source carries (nearly) all of the mix's power
    assert power(clicks)[bands["clicks"]].sum() > 0.99 * power(mix)[bands["clicks"]].sum()
    assert power(clicks)[bands["1 kHz"]].sum() < 1e-4 * power(mix)[bands["1 kHz"]].sum()
    share = {
        s: {b: float(power(sf.read(d / f"{s}.wav")[0])[m].sum() / power(mix)[m].sum()) for b, m in bands.items()}
        for s in STEMS
    }
    kept = {"drums": {"clicks"}, "bass": {"100 Hz"}, "drums_bass": {"clicks", "100 Hz"}}
    for stem, bands_kept in kept.items():
        for band, value in share[stem].items():
            assert (value > 0.8) if band in bands_kept else (value < 0.02), (stem, band, share)


def _save_random(tmp_path, **config):
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(0)
    model = EncodecModel(EncodecConfig(**config)).eval()
    model.save_pretrained(tmp_path / "encodec")
    return str(tmp_path / "encodec")


def test_tiny_encodec_round_trip(tmp_path):
    path = _save_random(
        tmp_path,
        sampling_rate=8000,
        upsampling_ratios=[4, 4],
        num_filters=4,
        hidden_size=16,
        codebook_size=64,
        target_bandwidths=[1.5, 3.0],
        num_lstm_layers=1,
    )
    model = load_encodec(path)
    y = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    codes = encode(model, y, sr=8000, bandwidth_kbps=1.5)
    assert codes.ndim == 2 and codes.dtype == np.int16 and codes.max() < 64
    assert abs(codes.shape[1] - 8000 / 16) <= 2 and frame_rate(model) == 500
    back = decode_codes(model, codes)
    assert abs(back.size - y.size) <= 16


def test_real_24khz_architecture_shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = _save_random(tmp_path)  # the default config is the 24 kHz model
    d = tmp_path / "clips" / "clip_0_0"
    d.mkdir(parents=True)
    sf.write(d / "drums_bass.wav", np.random.default_rng(1).standard_normal(5 * 24000).astype(np.float32) * 0.1, 24000)
    assert fresh(process_clips(tmp_path / "clips", {"model": path, "bandwidth_kbps": 1.5})) == 1
    z = np.load(d / "codes.npz")
    # 5 s at 24 kHz = 120000 samples / hop 320 = 375 frames (DanceToMusic's 377 is 120640 samples)
    assert z["codes"].shape == (2, 375) and float(z["frame_rate"]) == 75.0 and int(z["sample_rate"]) == 24000


def test_missing_weights_are_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(InputError, match="EnCodec weights not found"):
        load_encodec("facebook/encodec_24khz")


def _random_htdemucs(path):
    """The real HT-Demucs architecture with random weights, saved as a demucs package."""
    from demucs_infer.htdemucs import HTDemucs

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"])
    args, kwargs = model._init_args_kwargs
    torch.save({"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": model.state_dict()}, path)


def test_demucs_backend_with_random_weights(real_clip_audio, tmp_path):
    y, sr = real_clip_audio
    ckpt = tmp_path / "htdemucs.th"
    _random_htdemucs(ckpt)
    d = tmp_path / "clips" / "clip_0_0"
    d.mkdir(parents=True)
    sf.write(d / "audio.wav", y[: 3 * sr], sr)
    cfg = {"backend": "demucs", "hpss_margin": 1.0, "bass_cutoff_hz": 200.0, "demucs_checkpoint": str(ckpt)}
    assert fresh(stem_clips(tmp_path / "clips", cfg)) == 1
    for s in ("drums", "bass", "drums_bass"):
        z, zsr = sf.read(d / f"{s}.wav")
        assert zsr == sr and z.size == 3 * sr and np.isfinite(z).all()


def test_demucs_missing_weights_say_where(tmp_path):
    from pipelines.ingest.stems import load_demucs

    with pytest.raises(InputError, match="HT-Demucs weights not found: put the htdemucs checkpoint"):
        load_demucs(tmp_path / "nope" / "htdemucs.th")


def energy(x: np.ndarray) -> float:
    return float(np.sum(np.square(x, dtype=np.float64)))


def bin_gains(part: np.ndarray, mix: np.ndarray, *, n_fft: int = 4096, hop: int = 1024) -> np.ndarray:
    """STFT of ``part`` over STFT of ``mix`` in the bins where the mix has energy (above 1 % of its
    largest magnitude): real in [0, 1] for a part that a ratio mask took from the mix."""
    import librosa

    X = librosa.stft(np.asarray(mix, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    P = librosa.stft(np.asarray(part, dtype=np.float32), n_fft=n_fft, hop_length=hop)
    loud = np.abs(X) > 0.01 * np.abs(X).max()
    return P[loud] / X[loud]


@pytest.fixture(scope="module")
def spleeter_python():
    return venv_python(".venv-spleeter")


def _stems_stage(params_path):
    """The stems stage as the DAG runs it: the main interpreter, which re-runs it in .venv-spleeter."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.stages.stems", "--params", str(params_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


@pytest.mark.parametrize("n_stems", [2, 4])
def test_spleeter_backend_with_random_weights(spleeter_python, real_clip_audio, tmp_path, n_stems):
    y, sr = real_clip_audio
    models = tmp_path / "spleeter"
    subprocess.run(
        [spleeter_python, "-m", "pipelines.tools.spleeter_random", str(models), str(n_stems)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    d = tmp_path / "clips" / "clip_0_0"
    d.mkdir(parents=True)
    sf.write(d / "audio.wav", y[: 3 * sr], sr)
    params = make_params(tmp_path)
    params["youtube"]["target"] = str(tmp_path / "clips")
    params["stems"].update(backend="spleeter", spleeter_model_dir=str(models), spleeter_stems=n_stems)
    cfg = write_params(tmp_path / "params.yaml", params)
    run = _stems_stage(cfg)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "running pipelines.stages.stems in .venv-spleeter" in run.stderr
    stems = {s: sf.read(d / f"{s}.wav") for s in ("drums", "bass", "drums_bass")}
    for z, zsr in stems.values():
        assert zsr == sr and z.size == 3 * sr and np.isfinite(z).all()
    mix, drums, bass, both = sf.read(d / "audio.wav")[0], stems["drums"][0], stems["bass"][0], stems["drums_bass"][0]
    # Spleeter's masks are ratio masks normalised over all its stems (4 stems: drums, bass, other,
    # vocals; 2 stems: accompaniment, vocals, then HPSS of the accompaniment, whose soft masks and
    # zero-phase low-pass are real gains in [0, 1] too): drums + bass is the mix times a gain in
    # [0, 1] per STFT bin. So it is neither silence nor the whole mix, no louder than the mix in
    # any bin and in phase with it, and both stems are in it.
    assert 0.01 < energy(both) / energy(mix) < 0.9, energy(both) / energy(mix)
    assert energy(mix - both) > 0.05 * energy(mix)
    for name, single in (("drums", drums), ("bass", bass)):
        assert energy(both - single) > 0.05 * energy(both), f"drums_bass is just the {name} stem"
    gain = bin_gains(both, mix)
    louder, out_of_phase = np.mean(np.abs(gain) > 1.05), np.mean(gain.real < -0.05)
    assert louder < 0.01 and out_of_phase < 0.01, (louder, out_of_phase)
    again = _stems_stage(cfg)
    assert again.returncode == 0 and "0 clips separated, 1 reused" in again.stderr


def test_spleeter_missing_weights_say_where(spleeter_python, real_clip_audio, tmp_path):
    y, sr = real_clip_audio
    d = tmp_path / "clips" / "clip_0_0"
    d.mkdir(parents=True)
    sf.write(d / "audio.wav", y[:sr], sr)
    params = make_params(tmp_path)
    params["youtube"]["target"] = str(tmp_path / "clips")
    params["stems"].update(backend="spleeter", spleeter_model_dir=str(tmp_path / "none"), spleeter_stems=4)
    run = _stems_stage(write_params(tmp_path / "params.yaml", params))
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {tmp_path / 'none' / '4stems'}: Spleeter 4stems weights not found: extract"), last
    assert not (d / "drums.wav").exists()
