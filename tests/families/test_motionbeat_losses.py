"""Soft-DTW, the bar-position EMD and the accent histogram against brute-force references."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from pipelines.families.motionbeat.losses import accent_histogram, bar_emd, soft_dtw, soft_dtw_divergence


def brute_dtw(x: np.ndarray, y: np.ndarray, gamma: float | None) -> float:
    """The textbook (soft-)DTW recursion, cell by cell; gamma=None is hard DTW (a plain min)."""
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    N, M = len(x), len(y)
    R = [[math.inf] * (M + 1) for _ in range(N + 1)]
    R[0][0] = 0.0
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            prev = [R[i - 1][j - 1], R[i - 1][j], R[i][j - 1]]
            if gamma is None:
                soft = min(prev)
            else:
                lo = min(prev)
                soft = lo - gamma * math.log(sum(math.exp(-(r - lo) / gamma) for r in prev))
            R[i][j] = float(((x[i - 1] - y[j - 1]) ** 2).sum()) + soft
    return R[N][M]


def random_pair(rng, B, N, M, D):
    shape_x, shape_y = ((B, N), (B, M)) if D is None else ((B, N, D), (B, M, D))
    return torch.from_numpy(rng.normal(size=shape_x)), torch.from_numpy(rng.normal(size=shape_y))


@pytest.mark.parametrize("gamma", [1.0, 0.1, 0.01])
@pytest.mark.parametrize(("N", "M", "D"), [(5, 7, None), (6, 4, 2), (1, 3, None), (8, 8, 3)])
def test_soft_dtw_matches_brute_force(gamma, N, M, D):
    x, y = random_pair(np.random.default_rng(N * 10 + M), 3, N, M, D)
    got = soft_dtw(x, y, gamma=gamma)
    want = [brute_dtw(x[b].numpy(), y[b].numpy(), gamma) for b in range(3)]
    assert got.dtype == torch.float64 and got.shape == (3,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("D", [None, 2])
def test_small_gamma_approaches_hard_dtw(D):
    x, y = random_pair(np.random.default_rng(1), 4, 6, 9, D)
    hard = [brute_dtw(x[b].numpy(), y[b].numpy(), None) for b in range(4)]
    # the soft-min is at most gamma * log(3) below the min, at each of at most N + M - 1 cells on the path
    for gamma in (1e-2, 1e-3):
        got = soft_dtw(x, y, gamma=gamma).numpy()
        assert np.all(got <= np.array(hard) + 1e-12)
        np.testing.assert_allclose(got, hard, atol=gamma * math.log(3) * (6 + 9))
    np.testing.assert_allclose(soft_dtw(x, y, gamma=1e-4).numpy(), hard, atol=1e-2)


@pytest.mark.parametrize("D", [None, 2])
def test_masks_compare_the_truncated_sequences(D):
    x, y = random_pair(np.random.default_rng(2), 4, 7, 5, D)
    n, m = [7, 3, 1, 5], [5, 5, 2, 1]
    mask_x = torch.arange(7) < torch.tensor(n).unsqueeze(1)
    mask_y = torch.arange(5) < torch.tensor(m).unsqueeze(1)
    x = x.masked_fill(~(mask_x if D is None else mask_x.unsqueeze(-1)), 1e3)  # padding must be ignored
    for gamma in (1.0, 0.05):
        got = soft_dtw(x, y, gamma=gamma, mask_x=mask_x, mask_y=mask_y)
        want = [brute_dtw(x[b, : n[b]].numpy(), y[b, : m[b]].numpy(), gamma) for b in range(4)]
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)
        div = soft_dtw_divergence(x, y, gamma=gamma, mask_x=mask_x, mask_y=mask_y)
        xs, ys = ([s[b, :k].numpy() for b, k in enumerate(ks)] for s, ks in ((x, n), (y, m)))
        want_div = [
            brute_dtw(xs[b], ys[b], gamma) - 0.5 * (brute_dtw(xs[b], xs[b], gamma) + brute_dtw(ys[b], ys[b], gamma))
            for b in range(4)
        ]
        np.testing.assert_allclose(div.numpy(), want_div, rtol=1e-10, atol=1e-10)


def test_gradients_are_finite_and_match_finite_differences():
    x, y = random_pair(np.random.default_rng(3), 2, 4, 3, 2)
    x.requires_grad_(True)
    y.requires_grad_(True)
    soft_dtw_divergence(x, y, gamma=0.1).sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all() and x.grad.abs().sum() > 0

    mask_x = torch.tensor([[True, True, True, True], [True, True, False, False]])
    for gamma in (1.0, 0.1):
        assert torch.autograd.gradcheck(lambda a, b, g=gamma: soft_dtw(a, b, gamma=g, mask_x=mask_x), (x, y))
        assert torch.autograd.gradcheck(lambda a, b, g=gamma: soft_dtw_divergence(a, b, gamma=g), (x, y))
    # padded steps get exactly zero gradient
    x.grad = None
    soft_dtw(x, y, gamma=0.1, mask_x=mask_x).sum().backward()
    assert (x.grad[1, 2:] == 0).all()


def test_divergence_is_zero_for_identical_and_positive_otherwise():
    x, y = random_pair(np.random.default_rng(4), 5, 6, 8, None)
    assert soft_dtw(x, x, gamma=1.0).max() < 0
    for gamma in (1.0, 0.1, 0.01):
        assert soft_dtw(x, x, gamma=gamma).max() <= 0  # raw soft-DTW is biased: why the divergence is the loss
        np.testing.assert_allclose(soft_dtw_divergence(x, x, gamma=gamma).numpy(), 0.0, atol=1e-10)
        assert (soft_dtw_divergence(x, y, gamma=gamma) > 0).all()
    x32 = x.float().requires_grad_(True)
    loss = soft_dtw_divergence(x32, y[:, :6].float() + 1, gamma=0.1)
    loss.sum().backward()
    assert loss.dtype == torch.float32 and torch.isfinite(x32.grad).all()


def test_soft_dtw_rejects_bad_arguments():
    x, y = random_pair(np.random.default_rng(5), 2, 3, 3, None)
    with pytest.raises(ValueError, match="gamma"):
        soft_dtw(x, y, gamma=0.0)
    with pytest.raises(ValueError, match="valid step"):
        soft_dtw(x, y, gamma=1.0, mask_x=torch.tensor([[True, True, True], [False, False, False]]))


@pytest.mark.parametrize("K", [1, 4, 12])
def test_bar_emd_matches_scipy(K):
    rng = np.random.default_rng(K)
    p, q = rng.random((6, K)), rng.random((6, K))
    p[0, : K // 2] = 0  # some empty bins
    centres = (np.arange(K) + 0.5) / K
    want = [wasserstein_distance(centres, centres, u_weights=p[b], v_weights=q[b]) for b in range(6)]
    got = bar_emd(torch.from_numpy(p), torch.from_numpy(q))
    assert got.shape == (6,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    # scale-invariant, symmetric, zero on itself
    np.testing.assert_allclose(bar_emd(torch.from_numpy(3 * p), torch.from_numpy(q)).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(bar_emd(torch.from_numpy(q), torch.from_numpy(p)).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(bar_emd(torch.from_numpy(p), torch.from_numpy(p)).numpy(), 0.0, atol=1e-12)


def test_bar_emd_is_a_line_not_a_circle_and_survives_empty_histograms():
    first, last = torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[0, 0, 0, 1.0]])
    assert bar_emd(first, last).item() == pytest.approx(0.75)  # not 0.25, as on a circle
    empty = torch.zeros(1, 4, requires_grad=True)
    value = bar_emd(empty, first)
    value.sum().backward()
    uniform = torch.full((1, 4), 0.25)
    assert torch.isfinite(value).all() and torch.isfinite(empty.grad).all()
    assert value.item() == pytest.approx(bar_emd(uniform, first).item())
    assert bar_emd(torch.zeros(2, 4), torch.zeros(2, 4)).tolist() == [0.0, 0.0]


def test_accent_histogram_bins_accent_by_phase():
    accent = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]], requires_grad=True)
    phase = torch.tensor([[0.0, 0.24, 0.25, 0.99, 1.0]])  # 1.0 wraps to the bar's start
    hist = accent_histogram(accent, phase, bins=4)
    assert hist.tolist() == [[1.0 + 2.0 + 5.0, 3.0, 0.0, 4.0]]
    hist[0, 0].backward()
    assert accent.grad.tolist() == [[1.0, 1.0, 0.0, 0.0, 1.0]]
    masked = accent_histogram(accent, phase, bins=4, mask=torch.tensor([[True, True, True, True, False]]))
    assert masked.tolist() == [[3.0, 3.0, 0.0, 4.0]]

    rng = np.random.default_rng(6)
    accent, phase = torch.from_numpy(rng.random((8, 32))), torch.from_numpy(rng.random((8, 32)))
    hist = accent_histogram(accent, phase, bins=16)
    assert hist.shape == (8, 16) and (hist >= 0).all()
    np.testing.assert_allclose(hist.sum(-1).numpy(), accent.sum(-1).numpy(), rtol=1e-12)
