"""Scores of dance-to-music generation: token scores, baselines, beat coverage and hit."""

import numpy as np
import pytest
import torch

from pipelines.families.dance2music.model import PoseToAudio
from pipelines.families.dance2music.scores import (
    beat_hits,
    nearest_windows,
    rhythm_scores,
    sample_unigram,
    summarize_tokens,
    token_scores,
    unigram,
    unigram_scores,
)
from pipelines.families.dance2music.training import sampling_ratio


def test_beat_hits_match_each_kinetic_beat_once():
    # two music beats near the same kinetic beat count once; one far away counts not at all
    assert (
        beat_hits(music_beats_s=np.array([0.0, 0.05, 1.0]), kinetic_beats_s=np.array([0.02, 2.0]), tolerance_s=0.1) == 1
    )
    assert beat_hits(music_beats_s=np.array([0.0, 2.05]), kinetic_beats_s=np.array([0.02, 2.0]), tolerance_s=0.1) == 2
    assert beat_hits(music_beats_s=np.array([]), kinetic_beats_s=np.array([1.0]), tolerance_s=0.1) == 0


def test_rhythm_scores_follow_d2m_gan_against_the_dance():
    kin = np.array([0.5, 1.0, 1.5, 2.0])
    r = rhythm_scores(music_beats_s=np.array([0.51, 1.02, 3.0]), kinetic_beats_s=kin, tolerance_s=0.1, sigma_s=0.05)
    assert r["beat_coverage"] == pytest.approx(3 / 4) and r["beat_hit"] == pytest.approx(2 / 4)
    same = rhythm_scores(music_beats_s=kin, kinetic_beats_s=kin, tolerance_s=0.1, sigma_s=0.05)
    assert same["beat_hit"] == 1.0 and same["beat_align"] == pytest.approx(1.0)
    none = rhythm_scores(music_beats_s=kin, kinetic_beats_s=np.array([]), tolerance_s=0.1, sigma_s=0.05)
    assert np.isnan(none["beat_hit"]) and np.isnan(none["beat_coverage"])


def test_unigram_baseline_perplexity_and_samples():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 8, size=(50, 2, 40))
    probs = unigram(train, codebook_size=8)
    assert probs.shape == (2, 8) and np.allclose(probs.sum(1), 1)
    test = rng.integers(0, 8, size=(20, 2, 40))
    assert unigram_scores(probs, test)["perplexity"] == pytest.approx(8, rel=0.05)  # uniform codes: about C
    skewed = np.zeros((10, 2, 40), dtype=np.int64)
    s = unigram_scores(unigram(skewed, codebook_size=8), skewed)
    assert s["accuracy"] == 1.0 and s["perplexity"] < 1.1
    draws = sample_unigram(unigram(skewed, codebook_size=8), shape=(5, 2, 40), seed=0)
    assert draws.shape == (5, 2, 40) and np.mean(draws == 0) > 0.9


def test_nearest_window_is_the_same_dance_despite_missing_frames():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(30, 20, 6)).astype(np.float32)
    mask = np.ones((30, 20), dtype=bool)
    query = train[[7, 12]] + 0.01 * rng.normal(size=(2, 20, 6)).astype(np.float32)
    qmask = np.ones((2, 20), dtype=bool)
    qmask[0, :10] = False
    query[0, :10] = 0.0  # undetected frames carry no pose
    np.testing.assert_array_equal(nearest_windows(train, mask, query, qmask), [7, 12])


def test_teacher_forced_token_scores_equal_the_training_loss():
    torch.manual_seed(0)
    model = PoseToAudio(
        pose_dim=6,
        codebook_size=8,
        n_codebooks=2,
        pose_fps=20,
        frame_rate=10,
        width=16,
        heads=2,
        encoder_layers=1,
        decoder_layers=1,
        dropout=0.0,
    ).eval()
    pose = np.random.default_rng(0).normal(size=(3, 20, 6)).astype(np.float32)
    mask = np.ones((3, 20), dtype=bool)
    codes = np.random.default_rng(1).integers(0, 8, size=(3, 2, 10))
    s = token_scores(model, pose=pose, mask=mask, true=codes, read=codes, device="cpu", batch_size=2)
    with torch.no_grad():
        out = model(torch.as_tensor(pose), torch.as_tensor(mask), torch.as_tensor(codes))
    summary = summarize_tokens(s)
    assert summary["cross_entropy"] == pytest.approx(float(out["loss"]), rel=1e-5)
    assert summary["accuracy"] == pytest.approx(float(out["accuracy"]), rel=1e-5)
    # reading other codes than the true ones changes the score of the same targets
    other = token_scores(model, pose=pose, mask=mask, true=codes, read=(codes + 1) % 8, device="cpu")
    assert summarize_tokens(other)["cross_entropy"] != pytest.approx(summary["cross_entropy"])


def test_scheduled_sampling_ratio_ramps_then_stays():
    sched = {"start": 0.0, "end": 0.4, "ramp_epochs": 4}
    assert [sampling_ratio(sched, e) for e in (0, 2, 4, 9)] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    assert sampling_ratio({"start": 0.1, "end": 0.3, "ramp_epochs": 0}, 0) == pytest.approx(0.3)


def test_perceptual_loss_is_zero_on_the_true_codes_and_reaches_the_logits():
    from pipelines.families.dance2music.training import perceptual_mel_loss

    torch.manual_seed(0)
    K, C, T, M = 2, 8, 6, 5
    centroids = torch.randn(K, C, M)
    codes = torch.randint(0, C, (3, K, T))
    logits = torch.full((3, K, T + K, C + 3), -50.0)
    for k in range(K):  # code t of codebook k is predicted at step t + k
        logits[:, k, k : k + T].scatter_(-1, codes[:, k, :, None], 50.0)
    assert float(perceptual_mel_loss(logits, codes, centroids, tau=1.0, scale=1.0)) == pytest.approx(0.0, abs=1e-6)
    soft = torch.zeros(3, K, T + K, C + 3, requires_grad=True)
    loss = perceptual_mel_loss(soft, codes, centroids, tau=1.0, scale=1.0)
    loss.backward()
    assert float(loss) > 0 and soft.grad[:, :, :, :C].abs().sum() > 0 and soft.grad[:, :, :, C:].abs().sum() == 0
