"""Structural rhythm alignment losses (MotionBeat): soft-DTW and the bar-position earth mover's distance.

Each is a plain differentiable function of tensors, like the terms in :mod:`pipelines.training.losses`.

- :func:`soft_dtw` / :func:`soft_dtw_divergence` compare two (variable-length) sequences up to a
  smooth monotone time warp (Cuturi & Blondel 2017; Blondel, Mensch & Vert 2021).
- :func:`accent_histogram` bins accent strength by position in the bar, and :func:`bar_emd`
  compares two such histograms with the 1-D earth mover's (Wasserstein-1) distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _as_sequence(x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N) or (B, N, D) -> (B, N, D) with padding zeroed, and the (B,) valid lengths."""
    if x.dim() == 2:
        x = x.unsqueeze(-1)
    if x.dim() != 3:
        raise ValueError(f"expected a (B, N) or (B, N, D) sequence, got shape {tuple(x.shape)}")
    if mask is None:
        return x, torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
    mask = mask.to(device=x.device, dtype=torch.bool)
    return x.masked_fill(~mask.unsqueeze(-1), 0.0), mask.sum(dim=1)


def soft_dtw(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    gamma: float,
    mask_x: torch.Tensor | None = None,
    mask_y: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft-DTW (Cuturi & Blondel 2017) between two batches of sequences, with a squared Euclidean cost.

    ``R[i, j] = C[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])`` with ``R[0, 0] = 0`` and
    ``R[i, 0] = R[0, j] = inf``, where ``C[i, j] = ||x_i - y_j||^2`` and
    ``softmin_gamma(a, b, c) = -gamma * log(exp(-a / gamma) + exp(-b / gamma) + exp(-c / gamma))``.
    As ``gamma -> 0`` it tends to the hard DTW cost. The recursion runs over the N + M - 1
    anti-diagonals of ``R`` (all cells on one are independent), so autograd sees O(N + M) steps.

    Parameters
    ----------
    x : (B, N) or (B, N, D) tensor
        First sequences (N time steps of D features; a 2-D input means D = 1).
    y : (B, M) or (B, M, D) tensor
        Second sequences, same D as ``x``.
    gamma : float
        Soft-min temperature, > 0, in the units of the cost (squared feature units).
    mask_x, mask_y : (B, N) and (B, M) bool tensors, optional
        Valid time steps, left-aligned (padding at the end); each item needs at least one.
        Padded steps are ignored: item b is compared on its first ``n_b`` and ``m_b`` steps.

    Returns
    -------
    (B,) tensor
        ``R[n_b, m_b]`` for each item, in squared feature units. It is not a distance: it can be
        negative and ``soft_dtw(x, x) != 0``; use :func:`soft_dtw_divergence` as a loss.
    """
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    x, n = _as_sequence(x, mask_x)
    y, m = _as_sequence(y, mask_y)
    if (n == 0).any() or (m == 0).any():
        raise ValueError("every sequence needs at least one valid step")
    B, N, _ = x.shape
    M = y.shape[1]
    cost = (x.unsqueeze(2) - y.unsqueeze(1)).pow(2).sum(-1).reshape(B, N * M)  # (B, N*M)

    # Skew the cost so that diagonal k (cells with i + j = k, 1-based) is cost_skew[k][:, i]. Unbinding
    # once (not slicing per step) keeps the backward from zero-filling the whole tensor at every step.
    i = torch.arange(N + 1, device=x.device)
    j = torch.arange(N + M + 1, device=x.device).unsqueeze(1) - i  # (N+M+1, N+1)
    flat = (i - 1).clamp(min=0) * M + (j - 1).clamp(0, M - 1)
    cost_skew = cost[:, flat].unbind(1)  # N+M+1 diagonals of (B, N+1); cells off the grid are never read

    # Diagonal k holds R[i, k - i] for i = 0..N (inf off the grid); only on-grid cells are computed,
    # so every logsumexp has a finite entry and the backward pass never sees inf - inf.
    inf = x.new_full((B, N + 1), float("inf"))
    diagonals = [torch.cat([x.new_zeros(B, 1), inf[:, 1:]], dim=1), inf]
    for k in range(2, N + M + 1):
        lo, hi = max(1, k - M), min(N, k - 1)
        before, prev = diagonals[k - 2], diagonals[k - 1]
        neighbours = torch.stack([before[:, lo - 1 : hi], prev[:, lo - 1 : hi], prev[:, lo : hi + 1]])
        cells = cost_skew[k][:, lo : hi + 1] - gamma * torch.logsumexp(-neighbours / gamma, dim=0)
        diagonals.append(torch.cat([inf[:, :lo], cells, inf[:, hi + 1 :]], dim=1))
    R = torch.stack(diagonals, dim=1)  # (B, N+M+1, N+1)
    return R[torch.arange(B, device=x.device), n + m, n]


def soft_dtw_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    gamma: float,
    mask_x: torch.Tensor | None = None,
    mask_y: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft-DTW divergence ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2`` (Blondel, Mensch & Vert 2021).

    Use this, not raw :func:`soft_dtw`, as a loss: the soft-min's entropic smoothing makes
    ``soft_dtw(x, x)`` negative and ``soft_dtw(x, .)`` is not minimised at ``x`` itself, so
    minimising raw soft-DTW pulls the prediction towards a biased (shrunk, blurred) target.
    With the squared Euclidean cost the divergence is >= 0 and zero when ``x == y``.

    Parameters and shapes are those of :func:`soft_dtw`; returns (B,) in squared feature units.
    The three soft-DTW terms are computed in one batched pass (sequences padded to a common length).
    """
    x, n = _as_sequence(x, mask_x)
    y, m = _as_sequence(y, mask_y)
    L = max(x.shape[1], y.shape[1])
    x, y = (F.pad(s, (0, 0, 0, L - s.shape[1])) for s in (x, y))
    vx, vy = (torch.arange(L, device=x.device) < torch.cat([n, m]).unsqueeze(1)).chunk(2)  # (B, L) each
    xy, xx, yy = soft_dtw(
        torch.cat([x, x, y]),
        torch.cat([y, x, y]),
        gamma=gamma,
        mask_x=torch.cat([vx, vx, vy]),
        mask_y=torch.cat([vy, vx, vy]),
    ).chunk(3)
    return xy - 0.5 * (xx + yy)


def bar_emd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Earth mover's (Wasserstein-1) distance between histograms over position in the bar.

    The K bins split ``[0, 1)`` into equal widths ``1 / K``, with each bin's mass at its centre. The
    bar is treated as a line segment, not a circle (mass near 0 and near 1 is far apart), which
    matches ``scipy.stats.wasserstein_distance`` on the bin centres. Closed form:
    ``sum_k |CDF_p[k] - CDF_q[k]| / K``.

    Parameters
    ----------
    p, q : (B, K) tensors
        Non-negative masses; each row is normalised to sum 1 here. A row with zero total mass
        is taken as uniform (so the result stays finite and differentiable, never NaN).

    Returns
    -------
    (B,) tensor
        Distance in bar fractions, in ``[0, 1 - 1/K]``.
    """
    K = p.shape[-1]
    return (_normalise(p).cumsum(-1) - _normalise(q).cumsum(-1)).abs().sum(-1) / K


def _normalise(p: torch.Tensor) -> torch.Tensor:
    """Rows of p divided by their sums; rows with no mass become uniform."""
    total = p.sum(-1, keepdim=True)
    return torch.where(total > 0, p / total.clamp_min(torch.finfo(p.dtype).tiny), 1.0 / p.shape[-1])


def accent_histogram(
    accent: torch.Tensor, phase: torch.Tensor, *, bins: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Accent mass per position-in-bar bin.

    Parameters
    ----------
    accent : (B, N) tensor
        Non-negative accent strength per time step (differentiable).
    phase : (B, N) tensor
        Position of each step in its bar, a fraction in ``[0, 1)`` (values outside wrap modulo 1;
        no gradient flows to it). Bin ``k`` covers ``[k / bins, (k + 1) / bins)``.
    bins : int
        Number of equal-width bins K.
    mask : (B, N) bool tensor, optional
        Valid steps; padded steps add no mass.

    Returns
    -------
    (B, bins) tensor
        Sum of ``accent`` over the steps falling in each bin (same units as ``accent``).
    """
    index = (phase.detach().remainder(1.0) * bins).floor().long().clamp(0, bins - 1)
    if mask is not None:
        accent = accent * mask.to(accent.dtype)
    return torch.einsum("bn,bnk->bk", accent, F.one_hot(index, bins).to(accent.dtype))
