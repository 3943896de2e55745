"""The embedded default dataset: music and beat-locked dance generated from a seed.

Everything is written in the AIST++ on-disk layout (``annotations/keypoints3d``,
``annotations/motions``, ``annotations/splits``, ``annotations/ignore_list.txt``,
``music/m{GENRE}{k}.wav``), plus ground truth the real dataset lacks:
``music/m{GENRE}{k}.beats.tsv`` with every beat time (s) and its position in the bar
(1 = downbeat).

Music: piece ``m{G}{k}`` plays at the AIST++ tempo (80 + 10k BPM; house 110 + 5k) in the
genre's metre, with the genre's drum pattern, accents, swing and instrument timbres
(kick pitch and decay, snare brightness, hi-hat density, bass waveform, pad brightness).

Motion: 17 COCO joints in cm at 60 fps, y up. A dancer (body scale, energy, a small lag
behind the beat) performs a choreography: per bar, one move from the genre's
vocabulary on top of the genre's groove. Every move is a function of the continuous
beat index whose velocity vanishes on beats, so kinetic beats fall on musical beats,
and moves are larger on accented beats so downbeats can be read off the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import logging
import pickle
from pathlib import Path

import soundfile as sf

from ..cli import n_workers, parallel_map
from ..config import MOTION_FPS as DATASET_MOTION_FPS
from ..files import stable_hash
from .skeleton import Skeleton

log = logging.getLogger(__name__)

MOTION_FPS = DATASET_MOTION_FPS["synthetic"]  # frames/s, from the one table in pipelines.config
J = Skeleton("coco17").num_joints

# name: (metre, accents per beat, swing, kick Hz, kick decay s, snare cutoff 0-1,
#        hats per beat, bass wave, pad brightness, groove move, vocabulary)
GENRE_STYLE = {
    "BR": dict(metre=4, accents=(1.0, .4, .8, .4), swing=.10, kick=55, kick_decay=.25, snare=.7, hats=2, bass="saw", pad=.3, groove="bounce", moves=("arm_circle", "kick", "knee_drop")),
    "PO": dict(metre=4, accents=(1.0, .5, .9, .5), swing=.00, kick=60, kick_decay=.12, snare=.9, hats=4, bass="square", pad=.6, groove="head_nod", moves=("arm_pump", "twist", "arm_wave")),
    "LO": dict(metre=2, accents=(1.0, .6), swing=.15, kick=65, kick_decay=.15, snare=.8, hats=2, bass="square", pad=.8, groove="bounce", moves=("arm_pump", "side_step", "arm_circle")),
    "WA": dict(metre=4, accents=(1.0, .6, .6, .6), swing=.05, kick=58, kick_decay=.18, snare=.95, hats=2, bass="sine", pad=.9, groove="head_nod", moves=("arm_circle", "arm_wave", "arm_pump")),
    "MH": dict(metre=4, accents=(1.0, .3, .7, .3), swing=.20, kick=50, kick_decay=.30, snare=.6, hats=2, bass="sine", pad=.4, groove="bounce", moves=("side_step", "head_nod", "twist")),
    "LH": dict(metre=4, accents=(1.0, .5, .5, .9), swing=.12, kick=48, kick_decay=.35, snare=.5, hats=2, bass="saw", pad=.2, groove="bounce", moves=("jump", "arm_pump", "kick")),
    "HO": dict(metre=4, accents=(1.0, .9, .9, .9), swing=.00, kick=52, kick_decay=.20, snare=.85, hats=4, bass="saw", pad=.7, groove="side_step", moves=("kick", "jump", "twist")),
    "KR": dict(metre=4, accents=(1.0, .3, 1.0, .3), swing=.00, kick=45, kick_decay=.40, snare=.4, hats=1, bass="square", pad=.1, groove="knee_drop", moves=("arm_pump", "twist", "jump")),
    "JS": dict(metre=4, accents=(1.0, .4, .7, .6), swing=.08, kick=62, kick_decay=.14, snare=.75, hats=4, bass="sine", pad=.5, groove="twist", moves=("kick", "arm_wave", "side_step")),
    "JB": dict(metre=3, accents=(1.0, .4, .4), swing=.00, kick=70, kick_decay=.10, snare=.3, hats=1, bass="sine", pad=1.0, groove="arm_wave", moves=("arm_circle", "jump", "side_step")),
}

# Rest pose, cm, y up, facing +z (the dancer's left is +x), COCO joint order.
REST_POSE = np.array([
    [0, 160, 8], [3, 164, 6], [-3, 164, 6], [7, 162, 0], [-7, 162, 0],
    [18, 145, 0], [-18, 145, 0], [22, 118, 0], [-22, 118, 0], [24, 92, 4], [-24, 92, 4],
    [10, 95, 0], [-10, 95, 0], [11, 52, 2], [-11, 52, 2], [11, 8, 0], [-11, 8, 0],
], dtype=np.float64)

HEAD = [0, 1, 2, 3, 4]
UPPER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
BODY = list(range(13))  # everything above the knees
LEGS_L, LEGS_R = [13, 15], [14, 16]


def piece_bpm(genre: str, k: int) -> float:
    """AIST++ tempo rule: 80 + 10k BPM, house 110 + 5k."""
    return 110.0 + 5 * k if genre == "HO" else 80.0 + 10 * k


@dataclass(frozen=True)
class Piece:
    name: str
    genre: str
    bpm: float
    metre: int
    first_beat_s: float

    @property
    def beat_period_s(self) -> float:
        return 60.0 / self.bpm

    def beat_times(self, seconds: float) -> np.ndarray:
        n = int(np.floor((seconds - self.first_beat_s) / self.beat_period_s)) + 1
        return self.first_beat_s + np.arange(max(n, 0)) * self.beat_period_s


def make_piece(genre: str, k: int, rng: np.random.Generator) -> Piece:
    return Piece(f"m{genre}{k}", genre, piece_bpm(genre, k), GENRE_STYLE[genre]["metre"],
                 float(rng.uniform(0.1, 0.4)))


# ---------------------------------------------------------------- music
def _env(n: int, sr: int, decay_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (decay_s * sr))


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    """One-pole low-pass, alpha in (0, 1]: smaller is darker."""
    from scipy.signal import lfilter

    return lfilter([alpha], [1, alpha - 1], x)


def _osc(kind: str, phase: np.ndarray) -> np.ndarray:
    if kind == "sine":
        return np.sin(2 * np.pi * phase)
    if kind == "square":
        return np.tanh(4 * np.sin(2 * np.pi * phase))
    return 2 * (phase % 1.0) - 1  # saw


def synth_music(piece: Piece, *, seconds: float, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Render a piece.

    Returns
    -------
    y : np.ndarray, shape (round(seconds * sr),), float32 in [-1, 1]
    beats : np.ndarray, shape (n_beats, 2)
        Beat time in s and 1-based position in the bar (1 = downbeat).
    """
    style = GENRE_STYLE[piece.genre]
    n = int(round(seconds * sr))
    y = np.zeros(n + sr, dtype=np.float64)
    period = piece.beat_period_s
    beats = piece.beat_times(seconds)
    pos = np.arange(beats.size) % piece.metre
    accents = np.asarray(style["accents"])[pos]

    def add(t_s: float, sig: np.ndarray, gain: float) -> None:
        i = int(round(t_s * sr))
        if 0 <= i < n:
            m = min(sig.size, y.size - i)
            y[i:i + m] += gain * sig[:m]

    k_len = int(0.5 * sr)
    tk = np.arange(k_len) / sr
    kick_f = style["kick"] * (1 + 2.5 * np.exp(-tk / 0.03))
    kick = np.sin(2 * np.pi * np.cumsum(kick_f) / sr) * _env(k_len, sr, style["kick_decay"])
    s_len = int(0.25 * sr)
    snare = _lowpass(rng.standard_normal(s_len), style["snare"]) * _env(s_len, sr, 0.06)
    snare += 0.3 * np.sin(2 * np.pi * 190 * np.arange(s_len) / sr) * _env(s_len, sr, 0.04)
    h_len = int(0.06 * sr)
    hat_noise = rng.standard_normal(h_len)
    hat = (hat_noise - _lowpass(hat_noise, 0.3)) * _env(h_len, sr, 0.012)

    root_hz = 55.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = rng.choice([0, 3, 5, 7, 8, 10], size=4)
    for b, (t, p, acc) in enumerate(zip(beats, pos, accents)):
        bar = b // piece.metre
        if p == 0 or acc >= 0.85 or (style["metre"] == 4 and p == 2):
            add(t, kick, 0.9 * acc)
        if p % 2 == 1 or (piece.metre == 3 and p == 2):
            add(t, snare, 0.5 * acc)
        for h in range(style["hats"]):
            off = h / style["hats"]
            if h % 2 == 1:
                off += style["swing"] / style["hats"]
            add(t + off * period, hat, 0.25 * (1.0 if h == 0 else 0.6))
        # bass: one note per beat on the bar's chord root
        note_hz = root_hz * 2 ** (progression[bar % 4] / 12)
        b_len = int(0.9 * period * sr)
        phase = note_hz * np.arange(b_len) / sr
        add(t, _osc(style["bass"], phase) * _env(b_len, sr, 0.35 * period), 0.35 * (0.6 + 0.4 * acc))
        if p == 0:  # pad chord over the bar
            bar_len = int(piece.metre * period * sr)
            tt = np.arange(bar_len) / sr
            chord = sum(np.sin(2 * np.pi * 4 * note_hz * r * tt) for r in (1.0, 1.26, 1.5))
            chord = _lowpass(chord, 0.05 + 0.6 * style["pad"]) * np.minimum(1, tt / 0.05) * _env(bar_len, sr, 1.5)
            add(t, chord, 0.08)
    y = y[:n]
    y += 0.003 * rng.standard_normal(n)
    y = 0.9 * y / np.max(np.abs(y))
    return y.astype(np.float32), np.stack([beats, pos + 1], axis=1)


# ---------------------------------------------------------------- motion
def _move(name: str, b: np.ndarray, amp: np.ndarray, metre: int) -> np.ndarray:
    """Joint offsets (T, J, 3) in cm for one move as a function of beat index ``b``.

    Every profile has zero velocity at integer ``b`` (the beats).
    """
    T = b.size
    off = np.zeros((T, J, 3))
    dip = (1 - np.cos(2 * np.pi * b)) / 2          # 0 on beats, 1 between
    alt = np.cos(np.pi * b)                        # +1 / -1 on alternate beats
    a = amp[:, None]
    if name == "bounce":
        off[:, BODY, 1] -= 6 * a * dip[:, None]
        off[:, [13, 14], 2] += 4 * a * dip[:, None]
    elif name == "head_nod":
        off[:, HEAD, 1] -= 4 * a * dip[:, None]
        off[:, HEAD, 2] += 5 * a * dip[:, None]
    elif name == "arm_pump":
        off[:, [9, 10], 1] += 35 * a * dip[:, None]
        off[:, [7, 8], 1] += 15 * a * dip[:, None]
        off[:, [9, 10], 2] += 10 * a * dip[:, None]
    elif name == "side_step":
        off[:, :, 0] += 12 * (a * alt[:, None])
        lift = np.clip(alt, 0, None)[:, None] * a
        off[:, LEGS_L, 1] += 10 * lift
        off[:, LEGS_R, 1] += 10 * np.clip(-alt, 0, None)[:, None] * a
    elif name == "arm_wave":
        for lag, joints in ((0.0, [5, 6]), (0.15, [7, 8]), (0.3, [9, 10])):
            wave = (1 - np.cos(np.pi * (b - lag * np.sin(np.pi * b) ** 2))) / 2
            off[:, joints, 1] += 18 * a * (wave[:, None] - 0.5)
    elif name == "arm_circle":
        # one turn per bar; d(ang)/db = (2π/metre)(1 − cos 2πb) vanishes on every beat
        ang = 2 * np.pi / metre * (b - np.sin(2 * np.pi * b) / (2 * np.pi))
        for jw, sgn in ((9, 1), (10, -1), (7, 1), (8, -1)):
            r = 25 if jw in (9, 10) else 10
            off[:, jw, 0] += sgn * r * a[:, 0] * np.cos(ang)
            off[:, jw, 1] += r * a[:, 0] * (np.sin(ang) + 1)
    elif name == "kick":
        leg_l = np.clip(alt, 0, None) * dip
        leg_r = np.clip(-alt, 0, None) * dip
        off[:, LEGS_L, 2] += 30 * a * leg_l[:, None]
        off[:, LEGS_L, 1] += 20 * a * leg_l[:, None]
        off[:, LEGS_R, 2] += 30 * a * leg_r[:, None]
        off[:, LEGS_R, 1] += 20 * a * leg_r[:, None]
    elif name == "twist":
        ang = 0.35 * a[:, 0] * alt
        x, z = REST_POSE[UPPER, 0], REST_POSE[UPPER, 2]
        off[:, UPPER, 0] += (np.cos(ang)[:, None] - 1) * x + np.sin(ang)[:, None] * z
        off[:, UPPER, 2] += -np.sin(ang)[:, None] * x + (np.cos(ang)[:, None] - 1) * z
    elif name == "jump":
        off[:, :, 1] += 14 * a * dip[:, None]
        off[:, [9, 10], 1] += 20 * a * dip[:, None]
    elif name == "knee_drop":
        stomp = dip ** 3
        off[:, BODY, 1] -= 18 * a * stomp[:, None]
        off[:, [7, 8, 9, 10], 0] += np.array([1, -1, 1, -1]) * 12 * a * stomp[:, None]
    else:
        raise ValueError(f"unknown move {name!r}")
    return off


def synth_motion(piece: Piece, *, seconds: float, dancer_scale: float, energy: float,
                 lag_s: float, yaw: float, rng: np.random.Generator) -> np.ndarray:
    """Beat-locked dance, shape (round(seconds * 60), 17, 3), cm, y up, no NaN."""
    style = GENRE_STYLE[piece.genre]
    T = int(round(seconds * MOTION_FPS))
    t = np.arange(T) / MOTION_FPS
    b = (t - lag_s - piece.first_beat_s) / piece.beat_period_s
    accents = np.asarray(style["accents"])
    # amplitude follows the accent of the beat being approached or left, smoothly
    nearest = np.round(b).astype(int) % piece.metre
    amp = energy * (0.55 + 0.45 * accents[nearest])
    amp = np.convolve(amp, np.hanning(15) / np.hanning(15).sum(), mode="same")
    pose = np.broadcast_to(REST_POSE, (T, J, 3)).copy()
    pose += _move(style["groove"], b, amp * 0.7, piece.metre)
    bar = np.floor(b / piece.metre).astype(int)
    n_bars = int(bar.max() - bar.min() + 1)
    choice = rng.integers(0, len(style["moves"]), size=n_bars)
    bar_move = choice[bar - bar.min()]
    for m, name in enumerate(style["moves"]):
        mask = (bar_move == m).astype(float)
        mask = np.convolve(mask, np.hanning(21) / np.hanning(21).sum(), mode="same")
        pose += _move(name, b, amp * mask, piece.metre)
    # dancer: size, facing, travel drift
    pose = pose * dancer_scale
    c, s = np.cos(yaw), np.sin(yaw)
    x, z = pose[..., 0].copy(), pose[..., 2].copy()
    pose[..., 0], pose[..., 2] = c * x + s * z, -s * x + c * z
    drift = np.cumsum(rng.standard_normal((T, 3)) * np.array([0.15, 0.0, 0.15]), axis=0)
    drift = np.apply_along_axis(lambda v: np.convolve(v, np.ones(60) / 60, mode="same"), 0, drift)
    pose += drift[:, None, :] + rng.uniform(-50, 50, size=3) * np.array([1, 0, 1])
    pose += rng.standard_normal(pose.shape) * 0.3
    return pose


def add_nan_runs(kp: np.ndarray, rng: np.random.Generator, *, max_runs: int = 3, max_len: int = 8) -> np.ndarray:
    """Blank whole frames as AIST++ keypoints3d does where triangulation failed."""
    kp = kp.copy()
    for _ in range(rng.integers(1, max_runs + 1)):
        n = int(rng.integers(1, max_len + 1))
        start = int(rng.integers(1, kp.shape[0] - n - 1))
        kp[start:start + n] = np.nan
    return kp


def add_glitches(kp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tracking glitches (joint swaps and jumps) like those that put AIST++ sequences on its ignore list."""
    kp = kp.copy()
    for _ in range(20):
        i = int(rng.integers(0, kp.shape[0]))
        kp[i, rng.integers(0, J)] += rng.normal(0, 40, size=3)
    return kp


# ---------------------------------------------------------------- writing the dataset
def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_hash(name)])


def plan_synthetic(cfg: dict, seed: int) -> tuple[list[Piece], list[dict]]:
    """Decide every piece and sequence (names, durations, dancers, splits) from the seed."""
    rng = _rng(seed, "plan")
    pieces, sequences = [], []
    n_pieces = cfg["pieces_per_genre"]
    for gi, genre in enumerate(cfg["genres"]):
        dancers = [f"d{3 * gi + i + 1:02d}" for i in range(3)]
        ch = 0
        for k in range(n_pieces):
            piece = make_piece(genre, k, _rng(seed, f"m{genre}{k}"))
            pieces.append(piece)
            split = "test" if k == n_pieces - 1 else "val" if k == n_pieces - 2 else "train"
            kinds = ["BM"] * cfg["basic_per_piece"] + ["FM"] * cfg["advanced_per_piece"]
            for kind in kinds:
                ch += 1
                lo, hi = cfg["basic_seconds"] if kind == "BM" else cfg["advanced_seconds"]
                dancer = dancers[int(rng.integers(0, len(dancers)))]
                name = f"g{genre}_s{kind}_cAll_{dancer}_{piece.name}_ch{ch:02d}"
                seconds = min(float(rng.uniform(lo, hi)), cfg["music_seconds"])
                sequences.append({"name": name, "piece": piece, "seconds": seconds, "dancer": dancer, "split": split})
    order = rng.permutation(len(sequences))
    n_nan, n_ign = cfg["nan_sequences"], cfg["ignored_sequences"]
    nan_set = {sequences[i]["name"] for i in order[:n_nan]}
    ign_set = {sequences[i]["name"] for i in order[n_nan:n_nan + n_ign]}
    for s in sequences:
        s["nan"], s["ignored"] = s["name"] in nan_set, s["name"] in ign_set
    return pieces, sequences


def _write_piece(job: tuple) -> None:
    piece, seconds, sr, seed, music_dir = job
    y, beats = synth_music(piece, seconds=seconds, sr=sr, rng=_rng(seed, f"audio:{piece.name}"))
    sf.write(str(music_dir / f"{piece.name}.wav"), y, sr, subtype="PCM_16")
    lines = ["time_s\tbeat_in_bar"] + [f"{t:.6f}\t{int(p)}" for t, p in beats]
    (music_dir / f"{piece.name}.beats.tsv").write_text("\n".join(lines) + "\n")


def _write_sequence(job: tuple) -> None:
    s, seed, ann = job
    name = s["name"]
    rng = _rng(seed, f"motion:{name}")
    dancer_rng = _rng(seed, f"dancer:{s['dancer']}")
    scale = float(dancer_rng.uniform(0.88, 1.12))
    energy = float(dancer_rng.uniform(0.8, 1.2))
    lag = float(dancer_rng.uniform(0.0, 0.04))
    clean = synth_motion(s["piece"], seconds=s["seconds"], dancer_scale=scale, energy=energy,
                             lag_s=lag, yaw=float(rng.uniform(-0.35, 0.35)), rng=rng)
    if s["ignored"]:
        clean = add_glitches(clean, rng)
    kp = add_nan_runs(clean, rng) if s["nan"] else clean
    _pickle(ann / "keypoints3d" / f"{name}.pkl", {"keypoints3d": kp, "keypoints3d_optim": clean})
    # SMPL-style root track: only translation and heading are meaningful, body pose is zero.
    root = clean[:, [11, 12]].mean(axis=1)
    poses = np.zeros((kp.shape[0], 72), dtype=np.float32)
    hip = clean[:, 11] - clean[:, 12]
    poses[:, 1] = np.arctan2(-hip[:, 2], hip[:, 0])
    _pickle(ann / "motions" / f"{name}.pkl", {
        "smpl_poses": poses, "smpl_trans": (root * scale).astype(np.float32),
        "smpl_scaling": np.array([scale], dtype=np.float32), "smpl_loss": 0.0})


def _pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=4)


def generate_synthetic(params: dict, out_dir: Path) -> None:
    """Write the synthetic dataset in the AIST++ layout under ``out_dir``."""
    cfg, seed = params["datasets"]["synthetic"], params["seed"]
    pieces, sequences = plan_synthetic(cfg, seed)
    ann, music = out_dir / "annotations", out_dir / "music"
    for d in (ann / "keypoints3d", ann / "motions", ann / "splits", music):
        d.mkdir(parents=True, exist_ok=True)
    workers = n_workers(params)
    parallel_map(_write_piece, [(p, cfg["music_seconds"], cfg["music_sample_rate"], seed, music) for p in pieces],
                 workers=workers)
    parallel_map(_write_sequence, [(s, seed, ann) for s in sequences], workers=workers)
    for split in ("train", "val", "test"):
        names = [s["name"] for s in sequences if s["split"] == split]
        (ann / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names) + "\n")
    (ann / "ignore_list.txt").write_text("\n".join(s["name"] for s in sequences if s["ignored"]) + "\n")
    (out_dir / "README.md").write_text(
        "# Synthetic AIST++-layout dataset\n\nGenerated by `python -m pipelines.stages.acquire` "
        f"with seed {seed}: {len(pieces)} music pieces, {len(sequences)} sequences.\n"
        "See `pipelines/data/synthetic.py` for how music and motion are made.\n")
    log.info("synthetic: wrote %d pieces and %d sequences to %s", len(pieces), len(sequences), out_dir)
