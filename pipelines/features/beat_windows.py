"""The shards' windows as beat-synchronous token sequences (MotionBeat's inputs).

The windows are the shards' own (their ``index``: the same windows, splits and folds as the
retrieval models); the tokens come from the feature files the shards were cut from, because a
beat-jitter negative or a phase-discrimination candidate needs the motion up to two beats
beyond a window's edges. Per token (:mod:`pipelines.features.beat_tokens`):

==============  =============  ================================================================
``audio``       (N, n_mels+2)  mean log-mel (dB), mean and max onset strength
``motion``      (N, 6J)        mean root-centred joints and velocities (torso lengths, per s)
``contact``     (N,)           max contact pulse (:func:`pipelines.features.motion.contact_pulse`)
``onset``       (N,)           max onset strength over the token / the sequence's 99th pct., ≤ 1
``phase``       (N,)           bar position in [0, 1)
``tempo``       (N,)           local tempo, BPM
``beat_frame``  (N,)           1 where a reference beat falls in the token (ground truth when the
                               dataset has it, else the estimated beats: the beat-tracking probe)
==============  =============  ================================================================

A window holds the tokens whose first frame lies in its frames. Motion frame ``t`` pairs with
audio frame ``t + audio_start_frame - start_frame``, as in the shards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import SPLITS, Paths
from ..data.protocols import fold_roles
from ..data.skeleton import Skeleton
from ..data.torch_data import ShardDataset
from ..datasets import motion_fps, skeleton_layout
from ..errors import InputError
from .beat_tokens import beat_grid, pool_tokens
from .motion import contact_pulse

log = logging.getLogger(__name__)

TOKEN_FIELDS = ("audio", "motion", "contact", "onset", "phase", "tempo", "beat_frame")


def role_metas(params: dict, *, fold: int | None, roles: tuple[str, ...]) -> dict[str, list[dict]]:
    """The window metadata of each role: the split shards' index, or under ``fold`` every split's
    windows re-divided by :func:`pipelines.data.protocols.fold_roles` (as the retrieval models)."""
    paths, W = Paths(params), params["train"]["window_frames"]

    def index(split: str) -> list[dict]:
        path = paths.shard_file(W, split)
        if not path.exists():
            raise InputError(path, "shard not found; run the shards stage first")
        ds = ShardDataset(path, fields=())
        return [ds.meta(i) for i in range(len(ds))]

    if fold is None:
        return {r: index(r) for r in roles}
    every = [m for s in SPLITS if paths.shard_file(W, s).exists() for m in index(s)]
    ecfg = params["evaluate"]
    role_of = fold_roles(every, fold=fold, folds=ecfg["folds"], seed=params["seed"], val_fraction=ecfg["val_fraction"])
    return {r: [m for m, x in zip(every, role_of) if x == r] for r in roles}


def reference_beats(params: dict, piece: str, audio: dict) -> tuple[np.ndarray, np.ndarray, str]:
    """Beat and downbeat frames of a piece in audio frames, and which: ``ground_truth`` (the
    synthetic dataset's ``beats.tsv``) when ``rhythm.beats`` asks for it, else ``estimated``."""
    if params["rhythm"]["beats"] == "ground_truth":
        path = Paths(params).raw / "music" / f"{piece}.beats.tsv"
        if not path.is_file():
            raise InputError(path, "no ground-truth beats (rhythm.beats: ground_truth needs the synthetic dataset)")
        gt = np.loadtxt(path, skiprows=1, ndmin=2)
        fps = motion_fps(params)
        return gt[:, 0] * fps, gt[gt[:, 1] == 1, 0] * fps, "ground_truth"
    return audio["beat_frames"].astype(np.float64), np.flatnonzero(audio["downbeats"]).astype(np.float64), "estimated"


def probe_beats(params: dict, piece: str, audio: dict) -> np.ndarray:
    """The beat-tracking probe's reference beats (audio frames): ground truth where the dataset
    ships it (synthetic), else the project's librosa beats."""
    path = Paths(params).raw / "music" / f"{piece}.beats.tsv"
    if path.is_file():
        return np.loadtxt(path, skiprows=1, ndmin=2)[:, 0] * motion_fps(params)
    return audio["beat_frames"].astype(np.float64)


def probe_reference_label(params: dict) -> str:
    """What :func:`probe_beats` measures against for this dataset."""
    return "ground truth" if Paths(params).raw.joinpath("music").is_dir() else "librosa beats (estimated)"


@dataclass
class TokenSet:
    """Token sequences of every sequence, flat, and the windows as ranges of them."""

    tokens: dict[str, torch.Tensor]  # TOKEN_FIELDS -> (Ntot, ...) tensors
    seq_start: np.ndarray  # (S,) first token of each sequence
    seq_len: np.ndarray  # (S,)
    win_seq: np.ndarray  # (Wn,) sequence of each window
    win_start: np.ndarray  # (Wn,) first token (global) of each window
    win_len: np.ndarray  # (Wn,)
    meta: list[dict]
    beats_source: str
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # (Ntot,) first and end frame of each token

    @property
    def max_len(self) -> int:
        return int(self.win_len.max())

    def window_tempo(self) -> np.ndarray:
        """Median token tempo of each window, BPM."""
        t = self.tokens["tempo"].numpy()
        return np.array([np.median(t[s : s + n]) for s, n in zip(self.win_start, self.win_len)])

    def shift_ok(self, windows: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """(B,) whether window ``w`` moved by ``shift`` tokens stays inside its sequence."""
        s = self.win_seq[windows]
        first = self.win_start[windows] + shift
        return (first >= self.seq_start[s]) & (first + self.win_len[windows] <= self.seq_start[s] + self.seq_len[s])

    def gather(self, windows: np.ndarray, *, shift: np.ndarray | None = None, length: int | None = None) -> dict:
        """Padded token batches of ``windows`` (B,): every field (B, L, ...) and ``mask`` (B, L).

        ``shift`` (B,) moves the motion-side fields (``motion``, ``contact``) by that many tokens
        along the sequence (the music stays); each shift must satisfy :meth:`shift_ok`.
        """
        windows = np.asarray(windows)
        L = length or self.max_len
        n = self.win_len[windows]
        pos = np.arange(L)[None, :]
        mask = pos < n[:, None]
        base = self.win_start[windows][:, None] + np.minimum(pos, n[:, None] - 1)
        idx = torch.as_tensor(base)
        out = {k: v[idx] for k, v in self.tokens.items()}
        if shift is not None:
            moved = torch.as_tensor(base + np.asarray(shift)[:, None])
            for k in ("motion", "contact"):
                out[k] = self.tokens[k][moved]
        out["mask"] = torch.as_tensor(mask)
        return out


class Features:
    """Reads one sequence's motion and its piece's audio features (cached per piece)."""

    def __init__(self, params: dict):
        self.paths, self.audio, self.motions = Paths(params), {}, {}

    def motion(self, sequence: str) -> dict:
        if sequence not in self.motions:
            with np.load(self.paths.motion_features / f"{sequence}.npz") as m:
                self.motions[sequence] = {k: m[k] for k in ("joints", "root", "velocity", "kinetic_beats")}
        return self.motions[sequence]

    def piece(self, piece: str) -> dict:
        if piece not in self.audio:
            with np.load(self.paths.audio_features / f"{piece}.npz") as a:
                self.audio[piece] = {k: a[k] for k in ("logmel", "onset_env", "beat_frames", "downbeats", "tempo_bpm")}
        return self.audio[piece]


def sequence_tokens(params: dict, *, motion: dict, audio: dict, piece: str, offset: int, source: str) -> dict:
    """Token arrays (module docstring) of one sequence whose audio starts ``offset`` frames in."""
    fps, cfg = motion_fps(params), params["rhythm"]
    n = min(motion["joints"].shape[0], audio["logmel"].shape[0] - offset)
    beats, downbeats, which = reference_beats(params, piece, audio)
    tempo = float(audio["tempo_bpm"])
    grid = beat_grid(
        beat_frames=beats - offset,
        downbeat_frames=downbeats - offset,
        n_frames=n,
        fps=fps,
        subdivisions=cfg["subdivisions"],
        fallback_bpm=tempo if tempo > 0 else 120.0,
        source=source,
    )
    st = grid.starts
    onset = audio["onset_env"][offset : offset + n]
    logmel = audio["logmel"][offset : offset + n]
    skeleton = Skeleton(skeleton_layout(params))
    pulse = contact_pulse(
        joints=motion["joints"][:n],
        root=motion["root"][:n],
        velocity=motion["velocity"][:n],
        kinetic_beats=motion["kinetic_beats"][:n],
        skeleton=skeleton,
    )
    onset_peak = pool_tokens(onset, st, how="max")
    probe = np.zeros(n)
    pb = np.rint(probe_beats(params, piece, audio) - offset).astype(np.int64)
    probe[pb[(pb >= 0) & (pb < n)]] = 1
    return {
        "audio": np.concatenate(
            [pool_tokens(logmel, st), pool_tokens(onset, st)[:, None], onset_peak[:, None]], axis=1
        ),
        "motion": np.concatenate(
            [
                pool_tokens(motion["joints"][:n].reshape(n, -1), st),
                pool_tokens(motion["velocity"][:n].reshape(n, -1), st),
            ],
            axis=1,
        ),
        "contact": pool_tokens(pulse, st, how="max"),
        "onset": np.clip(onset_peak / max(float(np.percentile(onset, 99)), 1e-9), 0, 1).astype(np.float32),
        "phase": grid.phase,
        "tempo": grid.tempo_bpm,
        "beat_frame": pool_tokens(probe, st, how="max"),
        "frame": st[:-1],
        "frame_end": st[1:],
        "beats_source": which,
    }


def token_set(params: dict, metas: list[dict], *, features: Features | None = None) -> TokenSet:
    """The :class:`TokenSet` of these windows (shard index rows, in order)."""
    W = params["train"]["window_frames"]
    features = features or Features(params)
    seqs: dict[str, int] = {}
    parts: dict[str, list] = {k: [] for k in (*TOKEN_FIELDS, "frame", "frame_end")}
    seq_start, seq_len, frames_of = [], [], []
    total, which = 0, "estimated"
    for m in metas:
        if m["sequence"] in seqs:
            continue
        offset = int(m["audio_start_frame"]) - int(m["start_frame"])
        tok = sequence_tokens(
            params,
            motion=features.motion(m["sequence"]),
            audio=features.piece(m["piece"]),
            piece=m["piece"],
            offset=offset,
            source=str(Paths(params).audio_features / f"{m['piece']}.npz"),
        )
        which = tok.pop("beats_source")
        seqs[m["sequence"]] = len(seq_start)
        seq_start.append(total)
        seq_len.append(tok["phase"].size)
        frames_of.append(tok["frame"])
        total += tok["phase"].size
        for k in parts:
            parts[k].append(tok[k])
    win_seq, win_start, win_len = [], [], []
    for m in metas:
        s = seqs[m["sequence"]]
        fr = frames_of[s]
        a, b = np.searchsorted(fr, int(m["start_frame"])), np.searchsorted(fr, int(m["start_frame"]) + W)
        if b - a < 1:
            raise InputError(Path(m["sequence"]), f"window at frame {m['start_frame']} holds no beat token")
        win_seq.append(s)
        win_start.append(seq_start[s] + a)
        win_len.append(b - a)
    tokens = {k: torch.as_tensor(np.concatenate(parts[k])) for k in TOKEN_FIELDS}
    return TokenSet(
        tokens=tokens,
        seq_start=np.asarray(seq_start),
        seq_len=np.asarray(seq_len),
        win_seq=np.asarray(win_seq),
        win_start=np.asarray(win_start),
        win_len=np.asarray(win_len),
        meta=list(metas),
        beats_source=which,
        frames={k: np.concatenate(parts[k]) for k in ("frame", "frame_end")},
    )


def other_dance(tokens: TokenSet, *, tolerance_bpm: float, seed: int) -> np.ndarray:
    """For each window, a window of another piece whose tempo is within ± the tolerance (seeded
    choice), or -1 when there is none: phase discrimination's different dance at the same tempo."""
    tempo = tokens.window_tempo()
    piece = np.array([m["piece"] for m in tokens.meta])
    rng = np.random.default_rng(seed)
    out = np.full(len(piece), -1)
    for i in range(len(piece)):
        cand = np.flatnonzero((np.abs(tempo - tempo[i]) <= tolerance_bpm) & (piece != piece[i]))
        if cand.size:
            out[i] = rng.choice(cand)
    return out


def frame_shift(tokens: TokenSet, shift_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Each window's move in frames when its motion moves by ``shift_tokens`` tokens of its beat
    grid, and whether that stays inside the sequence's tokens; (Q,) each."""
    idx = np.arange(len(tokens.meta))
    ok = tokens.shift_ok(idx, np.full(idx.size, shift_tokens))
    fr = tokens.frames["frame"]
    moved = np.clip(tokens.win_start + shift_tokens, 0, fr.size - 1)
    return np.where(ok, fr[moved] - fr[tokens.win_start], 0), ok


def frame_windows(
    params: dict, metas: list[dict], *, delta: np.ndarray | None = None, features: Features | None = None
) -> dict:
    """Per-window frame arrays from the feature files: ``motion`` (Q, W, 6J) joints and velocities
    starting ``delta`` frames later (the retrieval models' motion input; zeros where the moved
    window leaves the sequence, flagged in ``ok``), ``music_beats_s`` and ``kinetic_beats_s``
    (per window, s from its start)."""
    W, fps = params["train"]["window_frames"], motion_fps(params)
    features = features or Features(params)
    delta = np.zeros(len(metas), dtype=np.int64) if delta is None else delta
    motion, ok, music_beats, kinetic = [], [], [], []
    for m, d in zip(metas, delta):
        mo = features.motion(m["sequence"])
        s = int(m["start_frame"]) + int(d)
        good = 0 <= s and s + W <= mo["joints"].shape[0]
        ok.append(good)
        if good:
            motion.append(
                np.concatenate([mo["joints"][s : s + W].reshape(W, -1), mo["velocity"][s : s + W].reshape(W, -1)], 1)
            )
        else:
            motion.append(np.zeros((W, mo["joints"][0].size * 2), np.float32))
        kinetic.append(np.flatnonzero(mo["kinetic_beats"][s : s + W]) / fps if good else np.zeros(0))
        a = int(m["audio_start_frame"])
        beats = features.piece(m["piece"])["beat_frames"]
        music_beats.append((beats[(beats >= a) & (beats < a + W)] - a) / fps)
    return {
        "motion": torch.as_tensor(np.stack(motion)),
        "ok": np.asarray(ok),
        "music_beats_s": music_beats,
        "kinetic_beats_s": kinetic,
    }


def probe_reference(params: dict, metas: list[dict], *, features: Features | None = None) -> list[np.ndarray]:
    """The beat-tracking probe's reference beats of each window (:func:`probe_beats`), s from its start."""
    W, fps = params["train"]["window_frames"], motion_fps(params)
    features = features or Features(params)
    out = []
    for m in metas:
        pb = probe_beats(params, m["piece"], features.piece(m["piece"]))
        a = int(m["audio_start_frame"])
        out.append((pb[(pb >= a) & (pb < a + W)] - a) / fps)
    return out
