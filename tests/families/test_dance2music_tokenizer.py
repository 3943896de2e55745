"""Audio tokenizers: residual k-means over log-mel (offline) and EnCodec, one interface."""

import numpy as np
import pytest

from pipelines.families.dance2music.tokenizer import (
    EncodecTokenizer,
    MelKMeansTokenizer,
    fit_mel_kmeans,
    log_mel_frames,
)

SR, HOP, NFFT, MELS = 24000, 320, 1024, 32


def _music(seconds=4.0, *, seed=0, bpm=120.0):
    """Clicks on a beat grid over a chord: something with structure in time and frequency."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    for b in np.arange(0, seconds, 60 / bpm):
        k = int(b * SR)
        y[k : k + 800] += rng.normal(0, 0.5, size=y[k : k + 800].size) * np.exp(-np.arange(y[k : k + 800].size) / 150)
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def tokenizer():
    frames = np.concatenate(
        [
            log_mel_frames(_music(seed=s, bpm=b), sr=SR, sample_rate=SR, n_fft=NFFT, hop_length=HOP, n_mels=MELS)
            for s, b in [(0, 100.0), (1, 120.0), (2, 140.0)]
        ]
    )
    return fit_mel_kmeans(frames, n_codebooks=2, codebook_size=32, sample_rate=SR, n_fft=NFFT, hop_length=HOP, seed=0)


def test_codes_in_range_at_75_frames_per_second(tokenizer):
    y = _music(seconds=2.0, seed=5)
    codes = tokenizer.tokenize(y, sr=SR)
    assert tokenizer.frame_rate == 75.0
    assert codes.shape == (2, y.size // HOP) and codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() < tokenizer.codebook_size
    # any input rate: resampled first
    y48 = np.interp(np.arange(2 * y.size) / 2, np.arange(y.size), y).astype(np.float32)
    assert tokenizer.tokenize(y48, sr=2 * SR).shape == codes.shape


def test_each_residual_codebook_lowers_the_quantisation_error(tokenizer):
    frames = tokenizer.logmel(_music(seed=7, bpm=110.0), sr=SR)
    codes = tokenizer.quantize(frames)
    err = []
    for k in range(1, tokenizer.n_codebooks + 1):
        part = sum(tokenizer.centroids[j][codes[j]] for j in range(k))
        err.append(float(np.mean((frames - part) ** 2)))
    assert err[1] < err[0]
    assert err[0] < float(np.mean((frames - frames.mean(0)) ** 2))  # one codebook beats the mean frame


def test_rendered_audio_sounds_like_its_tokens_not_like_random_ones(tokenizer):
    y = _music(seconds=3.0, seed=9, bpm=120.0)
    codes = tokenizer.tokenize(y, sr=SR)
    audio = tokenizer.detokenize(codes)
    assert audio.dtype == np.float32 and audio.size == codes.shape[1] * HOP and np.all(np.isfinite(audio))
    target = tokenizer.dequantize(codes)
    rng = np.random.default_rng(0)
    random_codes = rng.integers(0, tokenizer.codebook_size, size=codes.shape)
    again = tokenizer.logmel(audio, sr=SR)
    other = tokenizer.logmel(tokenizer.detokenize(random_codes), sr=SR)
    n = min(len(again), len(target))
    assert np.mean((again[:n] - target[:n]) ** 2) < 0.5 * np.mean((other[:n] - target[:n]) ** 2)


def test_save_load_gives_the_same_codes_and_bad_codes_are_refused(tokenizer, tmp_path):
    path = tokenizer.save(tmp_path / "tok.npz")
    back = MelKMeansTokenizer.load(path)
    y = _music(seconds=1.0, seed=3)
    np.testing.assert_array_equal(back.tokenize(y, sr=SR), tokenizer.tokenize(y, sr=SR))
    assert tokenizer.detokenize(np.zeros((2, 0), dtype=int)).size == 0
    with pytest.raises(ValueError, match="outside"):
        tokenizer.detokenize(np.full((2, 4), tokenizer.codebook_size))
    with pytest.raises(ValueError, match="must be"):
        tokenizer.detokenize(np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="cannot fit"):
        fit_mel_kmeans(
            np.zeros((10, MELS)), n_codebooks=1, codebook_size=32, sample_rate=SR, n_fft=NFFT, hop_length=HOP
        )


def test_encodec_tokenizer_has_the_same_interface():
    """The real 24 kHz architecture with random weights (no download here)."""
    from transformers import EncodecConfig, EncodecModel

    tok = EncodecTokenizer(EncodecModel(EncodecConfig()).eval(), bandwidth_kbps=1.5)
    assert (tok.sample_rate, tok.frame_rate, tok.n_codebooks, tok.codebook_size) == (24000, 75.0, 2, 1024)
    y = _music(seconds=1.0)
    codes = tok.tokenize(y, sr=SR)
    assert codes.shape == (2, 75) and codes.dtype == np.int64
    audio = tok.detokenize(codes)
    assert audio.ndim == 1 and abs(audio.size - y.size) <= HOP and np.all(np.isfinite(audio))
