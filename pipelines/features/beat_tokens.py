"""Beat-synchronous tokens: a piece's beat grid cut into subdivisions, frame features pooled per token.

MotionBeat (arXiv 2510.13244) reads music and motion on the beat rather than on the frame:
every beat interval is cut into ``subdivisions`` equal tokens, frame features are averaged over
each token, and each token carries its position in the bar (``phase`` in [0, 1), 0 on the
downbeat) and the local tempo. The paper does not say how bars are found or what happens
outside the tracked beats; the choices here:

- the grid is the piece's beats (estimated by librosa, or the synthetic ground truth), extended
  before the first and after the last beat by the median beat period, so that every frame of a
  sequence lies in a token;
- the metre is the median number of beats between downbeats; beat ``i`` sits at bar position
  ``(i - d) mod metre``, ``d`` the nearest downbeat at or before it (the first downbeat for the
  beats before it), so a window without a downbeat still gets phases from its piece's grid;
- fallbacks (logged, never an error, so every window of the shards gets tokens): a piece with
  no downbeat uses ``default_beats_per_bar`` with the bar starting on the first beat; a piece
  with fewer than two beats uses a uniform grid at ``fallback_bpm`` starting at frame 0;
- tokens are integer frame ranges ``[start_i, start_{i+1})`` (a token's start rounded to the
  nearest frame); when the frame rate is too low for a subdivision to span a frame, tokens
  that would start on the same frame are merged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BeatGrid:
    """Tokens of one sequence on its beat grid, in motion frames.

    Attributes
    ----------
    starts : np.ndarray, shape (N + 1,), int64
        Token ``i`` covers frames ``[starts[i], starts[i + 1])``; ``starts[-1]`` is the frame count.
    phase : np.ndarray, shape (N,), float32
        Position of the token's start in the bar, in [0, 1).
    tempo_bpm : np.ndarray, shape (N,), float32
        Local tempo of the token's beat interval, beats per minute.
    beat : np.ndarray, shape (N,), float64
        The token's start in beats from the first beat of the grid (fractional for subdivisions).
    fallback : str
        ``""``, ``"no_downbeat"`` or ``"few_beats"`` (see the module docstring).
    """

    starts: np.ndarray
    phase: np.ndarray
    tempo_bpm: np.ndarray
    beat: np.ndarray
    fallback: str = ""

    @property
    def n_tokens(self) -> int:
        return int(self.phase.size)


def _extend(beats: np.ndarray, *, period: float, n_frames: int) -> tuple[np.ndarray, int]:
    """Beats extended by ``period`` until they cover [0, n_frames]; also how many were prepended."""
    before = int(np.ceil(max(beats[0], 0) / period)) if beats[0] > 0 else 0
    after = int(np.ceil(max(n_frames - beats[-1], 0) / period)) + 1
    head = beats[0] - period * np.arange(before, 0, -1)
    tail = beats[-1] + period * np.arange(1, after + 1)
    return np.concatenate([head, beats, tail]), before


def beat_grid(
    *,
    beat_frames: np.ndarray,
    downbeat_frames: np.ndarray,
    n_frames: int,
    fps: float,
    subdivisions: int,
    default_beats_per_bar: int = 4,
    fallback_bpm: float = 120.0,
    source: str = "<grid>",
) -> BeatGrid:
    """Cut ``n_frames`` frames into beat-subdivision tokens.

    Parameters
    ----------
    beat_frames, downbeat_frames : np.ndarray, shape (B,), (D,)
        Beat and downbeat positions in frames of this sequence (may be fractional or negative).
    n_frames : int
        Frames of the sequence.
    fps : float
        Frames per second (for the tempo).
    subdivisions : int
        Tokens per beat.
    default_beats_per_bar, fallback_bpm
        The fallbacks of the module docstring.
    source : str
        Named in the fallback's log line.

    Returns
    -------
    BeatGrid
    """
    beats = np.unique(np.asarray(beat_frames, dtype=np.float64))
    fallback = ""
    if beats.size < 2:
        period = 60.0 * fps / fallback_bpm
        log.warning("%s: %d beat(s); tokens on a uniform %g BPM grid", source, beats.size, fallback_bpm)
        beats, fallback = np.array([0.0, period]), "few_beats"
    period = float(np.median(np.diff(beats)))
    grid, prepended = _extend(beats, period=period, n_frames=n_frames)
    down = np.asarray(downbeat_frames, dtype=np.float64)
    down_idx = np.unique([int(np.argmin(np.abs(grid - d))) for d in down]) if down.size and not fallback else []
    if len(down_idx) >= 2:
        metre = max(1, int(round(float(np.median(np.diff(down_idx))))))
    elif len(down_idx) == 1:
        metre = default_beats_per_bar
    else:
        metre, down_idx = default_beats_per_bar, [prepended]
        if not fallback:
            fallback = "no_downbeat"
            log.warning("%s: no downbeat; bars of %d beats from the first beat", source, metre)
    down_idx = np.asarray(down_idx)
    idx = np.arange(grid.size - 1)
    last = np.searchsorted(down_idx, idx, side="right") - 1
    ref = np.where(last >= 0, down_idx[np.clip(last, 0, None)], down_idx[0])
    bar_pos = (idx - ref) % metre
    sub = np.arange(subdivisions)
    t0 = grid[:-1, None] + (np.diff(grid)[:, None] * sub[None, :] / subdivisions)  # (beats, S)
    starts = np.rint(t0).astype(np.int64).ravel()
    phase = (((bar_pos[:, None] + sub[None, :] / subdivisions) / metre) % 1.0).ravel()
    tempo = np.repeat(60.0 * fps / np.diff(grid), subdivisions)
    beat = (idx[:, None] - prepended + sub[None, :] / subdivisions).ravel()
    # keep tokens that start inside the sequence, plus the one covering frame 0
    first = max(int(np.searchsorted(starts, 0, side="right")) - 1, 0)
    keep = np.arange(starts.size) >= first
    keep &= starts < n_frames
    starts, phase, tempo, beat = starts[keep], phase[keep], tempo[keep], beat[keep]
    starts[0] = 0
    uniq = np.concatenate([[True], np.diff(starts) > 0])  # merge tokens that start on one frame
    starts, phase, tempo, beat = starts[uniq], phase[uniq], tempo[uniq], beat[uniq]
    return BeatGrid(
        starts=np.append(starts, n_frames).astype(np.int64),
        phase=phase.astype(np.float32),
        tempo_bpm=tempo.astype(np.float32),
        beat=beat,
        fallback=fallback,
    )


def pool_tokens(x: np.ndarray, starts: np.ndarray, *, how: str = "mean") -> np.ndarray:
    """Pool frames into tokens.

    Parameters
    ----------
    x : np.ndarray, shape (T, ...) or (T,)
        Frame features.
    starts : np.ndarray, shape (N + 1,)
        Token boundaries (:attr:`BeatGrid.starts`), strictly increasing, ``starts[-1] == T``.
    how : {"mean", "max"}

    Returns
    -------
    np.ndarray, shape (N, ...), float32
    """
    x = np.asarray(x, dtype=np.float64)
    s = np.asarray(starts[:-1], dtype=np.int64)
    if how == "max":
        return np.maximum.reduceat(x, s, axis=0).astype(np.float32)
    sums = np.add.reduceat(x, s, axis=0)
    counts = np.diff(starts).reshape((-1,) + (1,) * (x.ndim - 1))
    return (sums / counts).astype(np.float32)
