"""Scores of dance-to-music generation (issue #12): tokens, rhythm, baselines.

Token scores (:func:`token_scores`) are the cross-entropy of the true codes under the model,
in nats per token, with the decoder reading either the true codes (teacher-forced) or the
model's own free-running codes (the true codes' perplexity once the model has gone its own way),
and the share of codes predicted exactly. Perplexity is ``exp`` of the mean cross-entropy.

Rhythm, with beats of rendered audio found by librosa's beat tracker (:func:`audio_beats`) and
the dance's kinetic beats (the motion features' ``kinetic_beats``) inside the window:

- **beat coverage** ``B_g / B_t`` and **beat hit** ``B_a / B_t`` as D2M-GAN (Zhu et al., 2022)
  defines them, with the dance's kinetic beats as the reference: ``B_t`` kinetic beats in the
  window, ``B_g`` beats of the generated audio, ``B_a`` generated beats within ``tolerance_s``
  of a kinetic beat (each kinetic beat matched once). Coverage near 1 means as many beats as the
  dance has, hit near 1 that they fall on the dance's beats;
- **BeatAlign** of the dance to the music, the data report's definition
  (:func:`pipelines.evaluation.beats.beat_align_score`).

Baselines: **nearest neighbour** (the training window whose standardised pose is nearest, its
real codes; :func:`nearest_windows`), **unigram** (codes drawn independently from each
codebook's training frequencies; :func:`unigram`) and the **tokenizer round trip** of the true
music (its own codes rendered: the ceiling any generator of these tokens can reach).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from ...evaluation.beats import beat_align_score
from .model import IGNORE, PoseToAudio, delayed_inputs, delayed_targets


@torch.no_grad()
def token_scores(
    model: PoseToAudio,
    *,
    pose: np.ndarray,
    mask: np.ndarray,
    true: np.ndarray,
    read: np.ndarray,
    device,
    batch_size: int = 32,
) -> dict:
    """Per window: summed cross-entropy (nats) of the true codes, the number of scored tokens and of
    exact predictions, with the decoder reading the codes ``read`` (``true`` itself: teacher forcing).

    ``pose`` (N, F, D), ``mask`` (N, F), ``true`` and ``read`` (N, K, T). Returns arrays ``ce_sum``,
    ``tokens`` and ``correct``, each (N,).
    """
    model.eval()
    out = {"ce_sum": [], "tokens": [], "correct": []}
    for s in range(0, len(true), batch_size):
        sl = slice(s, s + batch_size)
        p, m = torch.as_tensor(pose[sl], device=device), torch.as_tensor(mask[sl], device=device)
        memory, memory_mask = model.encode(p, m)
        targets = delayed_targets(torch.as_tensor(true[sl], device=device), vocab=model.vocab)
        inputs = delayed_inputs(
            delayed_targets(torch.as_tensor(read[sl], device=device), vocab=model.vocab), vocab=model.vocab
        )
        logits = model.decode(inputs, memory, memory_mask)
        ce = F.cross_entropy(rearrange(logits, "b k s v -> b v k s"), targets, ignore_index=IGNORE, reduction="none")
        valid = targets != IGNORE
        out["ce_sum"].append(ce.sum(dim=(1, 2)).cpu().numpy())
        out["tokens"].append(valid.sum(dim=(1, 2)).cpu().numpy())
        out["correct"].append(((logits.argmax(-1) == targets) & valid).sum(dim=(1, 2)).cpu().numpy())
    return {k: np.concatenate(v).astype(np.float64) for k, v in out.items()}


def summarize_tokens(scores: dict) -> dict:
    """``cross_entropy`` (nats/token), ``perplexity`` and ``accuracy`` over all windows of :func:`token_scores`."""
    ce = scores["ce_sum"].sum() / max(scores["tokens"].sum(), 1)
    return {
        "cross_entropy": float(ce),
        "perplexity": float(np.exp(ce)),
        "accuracy": float(scores["correct"].sum() / max(scores["tokens"].sum(), 1)),
    }


def unigram(codes: np.ndarray, *, codebook_size: int) -> np.ndarray:
    """Per-codebook code frequencies (K, C) of training codes (N, K, T), add-one smoothed."""
    K = codes.shape[1]
    counts = np.stack([np.bincount(codes[:, k].ravel(), minlength=codebook_size) for k in range(K)]).astype(np.float64)
    counts += 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def unigram_scores(probs: np.ndarray, true: np.ndarray) -> dict:
    """Token scores of the unigram baseline on true codes (N, K, T): cross-entropy, perplexity and the
    accuracy of always guessing each codebook's most frequent code."""
    K = true.shape[1]
    ce = -np.mean([np.log(probs[k][true[:, k]]).mean() for k in range(K)])
    acc = np.mean([np.mean(true[:, k] == probs[k].argmax()) for k in range(K)])
    return {"cross_entropy": float(ce), "perplexity": float(np.exp(ce)), "accuracy": float(acc)}


def sample_unigram(probs: np.ndarray, *, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Codes (N, K, T) drawn independently from each codebook's frequencies."""
    rng = np.random.default_rng(seed)
    N, K, T = shape
    return np.stack([rng.choice(probs.shape[1], size=(N, T), p=probs[k]) for k in range(K)], axis=1).astype(np.int64)


def nearest_windows(
    train_pose: np.ndarray, train_mask: np.ndarray, query_pose: np.ndarray, query_mask: np.ndarray
) -> np.ndarray:
    """For each query window, the index of the training window nearest in pose: mean squared distance
    of the standardised features over the frames detected in both (N_query,)."""
    frames = train_pose[train_mask]
    mean, std = frames.mean(axis=0), frames.std(axis=0) + 1e-6
    a = np.where(train_mask[..., None], (train_pose - mean) / std, 0.0).astype(np.float32)
    b = np.where(query_mask[..., None], (query_pose - mean) / std, 0.0).astype(np.float32)
    out = np.zeros(len(b), dtype=np.int64)
    for i in range(len(b)):
        both = train_mask & query_mask[i][None]
        d = (((a - b[i][None]) ** 2).sum(-1) * both).sum(1) / np.maximum(both.sum(1), 1)
        d[both.sum(1) == 0] = np.inf
        out[i] = int(np.argmin(d))
    return out


def audio_beats(y: np.ndarray, *, sr: int) -> np.ndarray:
    """Beat times (s) of mono audio by librosa's beat tracker (none for silence)."""
    import librosa

    if y.size == 0 or not np.any(np.abs(y) > 1e-6):
        return np.zeros(0)
    _, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return np.asarray(beats, dtype=np.float64)


def beat_hits(*, music_beats_s: np.ndarray, kinetic_beats_s: np.ndarray, tolerance_s: float) -> int:
    """Music beats within ``tolerance_s`` of a kinetic beat, each kinetic beat matched at most once (greedy by distance)."""
    m, k = np.asarray(music_beats_s, float), np.asarray(kinetic_beats_s, float)
    if m.size == 0 or k.size == 0:
        return 0
    d = np.abs(m[:, None] - k[None, :])
    pairs = sorted(zip(*np.nonzero(d <= tolerance_s)), key=lambda ij: d[ij])
    used_m, used_k = set(), set()
    for i, j in pairs:
        if i not in used_m and j not in used_k:
            used_m.add(i)
            used_k.add(j)
    return len(used_m)


def rhythm_scores(
    *, music_beats_s: np.ndarray, kinetic_beats_s: np.ndarray, tolerance_s: float, sigma_s: float
) -> dict:
    """Beat coverage, beat hit (D2M-GAN, against the kinetic beats) and BeatAlign of one window;
    coverage and hit are NaN for a window without kinetic beats."""
    n_kin = len(kinetic_beats_s)
    hits = beat_hits(music_beats_s=music_beats_s, kinetic_beats_s=kinetic_beats_s, tolerance_s=tolerance_s)
    return {
        "beat_coverage": len(music_beats_s) / n_kin if n_kin else float("nan"),
        "beat_hit": hits / n_kin if n_kin else float("nan"),
        "beat_align": beat_align_score(music_beats_s=music_beats_s, kinetic_beats_s=kinetic_beats_s, sigma_s=sigma_s),
    }
