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
behind the beat) performs a choreography in which every joint is a function of the
continuous beat index whose velocity vanishes on beats, so kinetic beats (minima of the
mean joint speed) fall on musical beats; amplitudes follow the genre's accents, so
downbeats and other accented beats get bigger steps, kicks, jumps, knee bends and arm moves.

- Feet follow the genre's step patterns (``STEPS``): per bar one pattern, one token per
  bar position saying what lands ON that beat: a step of the left or right foot to a
  place (home, wide, front, back, crossed; ``FOOT_PLACES``), a kick (the foot swings up
  and forward and comes back), a jump (both feet), a knee drop or a hold. A stepping foot
  stays down a quarter of a beat after the previous beat, then travels in an arc (10-45 cm
  high, by accent) and lands on its beat; a foot that does not step stays planted (low and
  still), so foot contacts begin on beats. Bars whose steps move both feet may travel.
- The pelvis shifts its weight onto the foot that lands and rocks side to side, one way per
  beat; it bends the knees on every beat (bounce, deepest on accented beats and drops,
  ``STEPS[genre]["bounce"]``) and turns round quickly at the top, rises in jumps and is
  danced at a level drawn per bar; the knees follow by two-bone IK, so the legs keep their
  length.
- Trunk, head and arms dance the genre's groove plus one move per bar from its vocabulary
  (``GENRE_STYLE``), as strokes from one beat to the next, the trunk leaning forward as the
  knees bend.

So the body is still on the beats and seldom between them: about 1.3 kinetic beats per
musical beat, as in the real AIST++ sample sequences (1.2-1.5).

Measured with :mod:`pipelines.evaluation.motion_stats` (per torso length), the default
configuration's dancers fall inside the range of the real AIST++ sample sequences for mean
joint speed, wrist speed, foot lift and root bounce (the data report shows both).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..cli import n_workers, parallel_map
from ..files import stable_hash
from .skeleton import Skeleton

log = logging.getLogger(__name__)

MOTION_FPS = 60  # frames/s, as AIST++ (pipelines.datasets.synthetic declares it; a test checks they agree)
J = Skeleton("coco17").num_joints

# name: (metre, accents per beat, swing, kick Hz, kick decay s, snare cutoff 0-1,
#        hats per beat, bass wave, pad brightness, groove move (upper body, always on),
#        vocabulary (upper-body moves, one per bar))
# fmt: off
GENRE_STYLE = {
    "BR": dict(metre=4, accents=(1.0, .4, .8, .4), swing=.10, kick=55, kick_decay=.25, snare=.7, hats=2, bass="saw", pad=.3, groove="arm_swing", moves=("arm_circle", "punch", "twist")),
    "PO": dict(metre=4, accents=(1.0, .5, .9, .5), swing=.00, kick=60, kick_decay=.12, snare=.9, hats=4, bass="square", pad=.6, groove="head_nod", moves=("arm_pump", "twist", "arm_wave")),
    "LO": dict(metre=2, accents=(1.0, .6), swing=.15, kick=65, kick_decay=.15, snare=.8, hats=2, bass="square", pad=.8, groove="arm_swing", moves=("arm_pump", "punch", "arm_circle")),
    "WA": dict(metre=4, accents=(1.0, .6, .6, .6), swing=.05, kick=58, kick_decay=.18, snare=.95, hats=2, bass="sine", pad=.9, groove="arm_wave", moves=("arm_circle", "punch", "arm_pump")),
    "MH": dict(metre=4, accents=(1.0, .3, .7, .3), swing=.20, kick=50, kick_decay=.30, snare=.6, hats=2, bass="sine", pad=.4, groove="arm_swing", moves=("head_nod", "twist", "punch")),
    "LH": dict(metre=4, accents=(1.0, .5, .5, .9), swing=.12, kick=48, kick_decay=.35, snare=.5, hats=2, bass="saw", pad=.2, groove="arm_swing", moves=("arm_pump", "punch", "twist")),
    "HO": dict(metre=4, accents=(1.0, .9, .9, .9), swing=.00, kick=52, kick_decay=.20, snare=.85, hats=4, bass="saw", pad=.7, groove="arm_swing", moves=("twist", "arm_wave", "arm_circle")),
    "KR": dict(metre=4, accents=(1.0, .3, 1.0, .3), swing=.00, kick=45, kick_decay=.40, snare=.4, hats=1, bass="square", pad=.1, groove="arm_pump", moves=("punch", "twist", "arm_circle")),
    "JS": dict(metre=4, accents=(1.0, .4, .7, .6), swing=.08, kick=62, kick_decay=.14, snare=.75, hats=4, bass="sine", pad=.5, groove="twist", moves=("arm_wave", "arm_circle", "punch")),
    "JB": dict(metre=3, accents=(1.0, .4, .4), swing=.00, kick=70, kick_decay=.10, snare=.3, hats=1, bass="sine", pad=1.0, groove="arm_wave", moves=("arm_circle", "arm_pump", "twist")),
}
# fmt: on

# Footwork: one token per beat of the bar (position 1 = downbeat), naming what lands ON that beat.
# ``L<place>`` / ``R<place>``: that foot lifts after the previous beat and lands on this one at
# ``<place>`` (FOOT_PLACES); ``Lk`` / ``Rk``: a kick, the foot swings up and forward and lands
# back where it was; ``B`` / ``Bo``: a jump, both feet leave the floor and land together (at home /
# wide); ``D``: a drop, both feet stay down and the knees dip deep; ``.``: both feet stay down.
# Each bar dances one pattern of its genre; ``bounce`` is the genre's knee-bend depth on a beat (cm).
STEPS = {
    "BR": dict(bounce=15, patterns=(("Lx", "Lh", "Rx", "Rh"), ("Bo", "Rk", "Rh", "Lk"), ("D", ".", "Lf", "Lh"))),
    "PO": dict(bounce=13, patterns=(("Lo", ".", "Rh", "."), ("Lk", ".", "Rk", "."), ("Rb", ".", "Rh", "."))),
    "LO": dict(bounce=14, patterns=(("Lo", "Rh"), ("Bo", "B"), ("Lk", "Lh"), ("Rf", "Rh"))),
    "WA": dict(bounce=11, patterns=(("Lf", ".", "Lh", "."), ("Rf", ".", "Rh", "."), ("Lo", "Rh", "Lh", "."))),
    "MH": dict(bounce=17, patterns=(("Lo", "Ro", "Lh", "Rh"), ("B", ".", "B", "."), ("Lk", "Lh", "Rk", "Rh"))),
    "LH": dict(bounce=17, patterns=(("Bo", "Rk", "Rh", "B"), ("Lf", "Rh", "Lh", "Rf"), ("Lx", "Lh", "Rx", "Rh"))),
    "HO": dict(bounce=13, patterns=(("Lf", "Lh", "Rf", "Rh"), ("Lo", "Rh", "Lh", "Ro"), ("Lk", "Lh", "Rk", "Rh"))),
    "KR": dict(bounce=16, patterns=(("Lo", ".", "Rh", "."), ("Bo", ".", "B", "."), ("D", "Rh", "Lh", "."))),
    "JS": dict(bounce=14, patterns=(("Lk", "Lh", "Rf", "Rh"), ("Lx", "Rh", "Lh", "Ro"), ("B", ".", "Rk", "Rh"))),
    "JB": dict(bounce=13, patterns=(("Lf", "Rh", "Lh"), ("Rf", "Lh", "Rh"), ("Lk", "Lh", "."))),
}

# Where a step puts the left ankle, (x, z) cm in the body frame relative to the dancer's centre;
# the right foot mirrors x. h home, o wide, f front, b back, x crossed in front of the other foot.
FOOT_PLACES = {"h": (11.0, 0.0), "o": (26.0, 0.0), "f": (9.0, 22.0), "b": (12.0, -18.0), "x": (-4.0, 14.0)}

# Rest pose, cm, y up, facing +z (the dancer's left is +x), COCO joint order.
# fmt: off
REST_POSE = np.array([
    [0, 160, 8], [3, 164, 6], [-3, 164, 6], [7, 162, 0], [-7, 162, 0],
    [18, 145, 0], [-18, 145, 0], [22, 118, 0], [-22, 118, 0], [24, 92, 4], [-24, 92, 4],
    [10, 95, 0], [-10, 95, 0], [11, 52, 2], [-11, 52, 2], [11, 8, 0], [-11, 8, 0],
], dtype=np.float64)
# fmt: on

HEAD = [0, 1, 2, 3, 4]
UPPER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


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


def make_piece(genre: str, k: int, rng: np.random.Generator, *, tempo_k: int | None = None) -> Piece:
    """Piece ``m{genre}{k}`` at the AIST++ tempo of piece ``tempo_k`` (default ``k``)."""
    bpm = piece_bpm(genre, k if tempo_k is None else tempo_k)
    return Piece(f"m{genre}{k}", genre, bpm, GENRE_STYLE[genre]["metre"], float(rng.uniform(0.1, 0.4)))


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
            y[i : i + m] += gain * sig[:m]

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
PELVIS = REST_POSE[[11, 12]].mean(axis=0)  # (0, 95, 0): the root at rest, cm
THIGH = float(np.linalg.norm(REST_POSE[13] - REST_POSE[11]))  # hip-knee bone, cm
SHIN = float(np.linalg.norm(REST_POSE[15] - REST_POSE[13]))  # knee-ankle bone, cm
ANKLE_Y = float(REST_POSE[15, 1])  # height of an ankle whose foot is on the floor, cm
AIR_START = 0.25  # a foot that steps again stays on the floor for this share of the beat after landing
STANCE_CM = 6.0  # a dancer's knees are soft: the pelvis stands this far below its rest height
REBOUND_SOFT = 0.05  # how round the top of a bounce is (0: a sharp turn), in half-beats
SWAY = 0.6  # share of the way from between the feet to the foot that lands that the pelvis shifts
ROCK_CM = 10.0  # the groove rocks the body this far side to side, one way per beat, at full amplitude
LEAN_PER_CM = 0.008  # forward lean of the trunk per cm of knee bend, rad
STEP_LIFT_CM, KICK_LIFT_CM, JUMP_CM = 26.0, 36.0, 18.0  # peak foot / pelvis rise at full amplitude
LEVELS_CM = (0.0, 6.0, 12.0)  # each bar is danced this much lower (one level per bar, drawn)
TRAVEL_CM = (-16.0, 0.0, 16.0)  # a travelling bar is danced this far to the side and to the front (drawn)
MIN_STANCE_CM = 14.0  # ankles at least this far apart sideways, but in a crossing step


def _ease(u: np.ndarray) -> np.ndarray:
    """0 → 1 over ``u`` in [0, 1], zero slope at both ends: how a stepping foot travels."""
    return u - np.sin(2 * np.pi * u) / (2 * np.pi)


def _arc(u: np.ndarray) -> np.ndarray:
    """0 → 1 → 0 over ``u`` in [0, 1], zero slope at both ends: how a foot or the body lifts after a
    beat and comes down into the next one."""
    return np.sin(np.pi * u) ** 2


def _rebound(u: np.ndarray) -> np.ndarray:
    """1 → 0 → 1 over ``u`` in [0, 1], zero slope at both ends: the knee bend of a bounce, deepest (and
    still) on the beats and turning round quickly half-way (``REBOUND_SOFT``: how round the top is),
    so the body does not stop there as it does on the beat."""
    e = REBOUND_SOFT
    r = (np.sqrt((2 * u - 1) ** 2 + e**2) - e) / (np.sqrt(1 + e**2) - e)  # 1 at 0 and 1, 0 half-way
    return 1 - (1 - r) ** 2


def _beat_curve(values: np.ndarray, k0: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per-beat ``values`` (n, ...) joined smoothly: ``values[k0]`` at ``u = 0``, ``values[k0 + 1]`` at
    ``u = 1``, with zero slope on every beat. Returns (T, ...)."""
    w = ((1 + np.cos(np.pi * u)) / 2).reshape((-1,) + (1,) * (values.ndim - 1))
    return values[k0] * w + values[k0 + 1] * (1 - w)


def _move(name: str, b: np.ndarray, amp: np.ndarray, metre: int) -> np.ndarray:
    """Upper-body joint offsets (T, J, 3) in cm, body frame, for one move as a function of beat index ``b``.

    Every profile has zero velocity at integer ``b`` (the beats). Moves are strokes from one beat to
    the next (a pose on even beats, another on odd ones, or a turn), not out-and-back within a beat,
    so the body is still on the beats and not again half-way between them.
    """
    T = b.size
    off = np.zeros((T, J, 3))
    alt = np.cos(np.pi * b)  # +1 / -1 on alternate beats
    even = (1 + alt) / 2  # 1 on even beats (the downbeat is beat 0), 0 on odd ones
    a = amp[:, None]
    if name == "head_nod":
        off[:, HEAD, 1] -= 7 * a * even[:, None]
        off[:, HEAD, 2] += 9 * a * even[:, None]
        off[:, [9, 10], 1] += 12 * a * (1 - even)[:, None]
    elif name == "arm_pump":
        # both arms up on even beats, down on odd ones
        off[:, [9, 10], 1] += 65 * a * even[:, None]
        off[:, [7, 8], 1] += 30 * a * even[:, None]
        off[:, [9, 10], 2] += 25 * a * even[:, None]
    elif name == "arm_wave":
        for lag, joints, height in ((0.0, [5, 6], 12), (0.15, [7, 8], 38), (0.3, [9, 10], 60)):
            wave = (1 - np.cos(np.pi * (b - lag * np.sin(np.pi * b) ** 2))) / 2
            off[:, joints, 1] += height * a * (wave[:, None] - 0.5)
    elif name == "arm_circle":
        # one turn per bar; d(ang)/db = (2π/metre)(1 − cos 2πb) vanishes on every beat
        ang = 2 * np.pi / metre * (b - np.sin(2 * np.pi * b) / (2 * np.pi))
        for jw, sgn in ((9, 1), (10, -1), (7, 1), (8, -1)):
            r = 44 if jw in (9, 10) else 20
            off[:, jw, 0] += sgn * r * a[:, 0] * np.cos(ang)
            off[:, jw, 1] += r * a[:, 0] * (np.sin(ang) + 1)
    elif name == "twist":
        ang = 0.45 * a[:, 0] * alt
        x, z = REST_POSE[UPPER, 0], REST_POSE[UPPER, 2]
        off[:, UPPER, 0] += (np.cos(ang)[:, None] - 1) * x + np.sin(ang)[:, None] * z
        off[:, UPPER, 2] += -np.sin(ang)[:, None] * x + (np.cos(ang)[:, None] - 1) * z
        off[:, [9, 10], 1] += 24 * a * np.stack([even, 1 - even], axis=1)
    elif name == "arm_swing":
        # arms swing forward (and up) and back against each other, one way per beat
        for jw, je, sgn in ((9, 7, 1), (10, 8, -1)):
            off[:, jw, 2] += sgn * 42 * a[:, 0] * alt
            off[:, je, 2] += sgn * 18 * a[:, 0] * alt
            off[:, jw, 1] += 22 * a[:, 0] * (1 + sgn * alt) / 2
    elif name == "punch":
        # the left arm is out (and still) on even beats, the right one on odd beats
        for jw, je, sgn, out in ((9, 7, 1, even), (10, 8, -1, 1 - even)):
            p = out * a[:, 0]
            off[:, jw] += p[:, None] * np.array([-8.0 * sgn, 35.0, 45.0])
            off[:, je] += p[:, None] * np.array([-3.0 * sgn, 18.0, 20.0])
    else:
        raise ValueError(f"unknown move {name!r}")
    return off


def _footwork(genre: str, ks: np.ndarray, amp: np.ndarray, rng: np.random.Generator) -> dict:
    """What the feet and the pelvis do on each beat, from the genre's step patterns (STEPS).

    Parameters
    ----------
    ks : np.ndarray, shape (n,)
        Consecutive beat indices (0 = the piece's first beat, a downbeat); beats before 0 hold.
    amp : np.ndarray, shape (n,)
        Move amplitude on each beat (energy times accent).

    Returns
    -------
    dict of np.ndarray
        ``place`` (n, 2, 2): (x, z) cm of each ankle (left, right) while on the floor at each beat;
        ``lift`` (n, 2) and ``kick`` (n, 2): peak height and forward swing (cm) of each foot in the
        interval that ends on the beat (0: the foot stays down); ``jump`` (n,): rise of the pelvis in
        that interval; ``dip`` (n,): knee bend on the beat, cm; ``centre`` (n, 2): (x, z) cm of the
        pelvis on the beat (over the foot that lands, or between the feet); ``tokens``: the step token
        of each beat.
    """
    metre, steps = GENRE_STYLE[genre]["metre"], STEPS[genre]
    patterns = steps["patterns"]
    n = ks.size
    place, lift, kick = np.zeros((n, 2, 2)), np.zeros((n, 2)), np.zeros((n, 2))
    jump, dip, centre = np.zeros(n), steps["bounce"] * amp, np.zeros((n, 2))
    mirror = np.array([[1.0, 1.0], [-1.0, 1.0]])  # the right foot mirrors x
    home, wide = (np.array([FOOT_PLACES[p], FOOT_PLACES[p]]) * mirror for p in "ho")
    n_bars = int(ks.max()) // metre + 1
    bar_pattern = rng.integers(0, len(patterns), size=n_bars)
    # where each bar is danced: a bar whose steps move both feet may travel (the body goes with the feet)
    spot = np.zeros((n_bars, 2))
    for j in range(n_bars):
        moved = {t[0] for t in patterns[bar_pattern[j]] if t[0] == "B" or (t[0] in "LR" and t[1] != "k")}
        travels = "B" in moved or moved >= {"L", "R"}
        spot[j] = rng.choice(np.asarray(TRAVEL_CM), size=2) if travels else spot[j - 1] if j else 0.0
    tokens = []
    current = home.copy()
    for i, k in enumerate(ks):
        token = "." if k < 0 else patterns[bar_pattern[k // metre]][k % metre]
        at = spot[k // metre] if k >= 0 else 0.0
        tokens.append(token)
        a = amp[i]
        if token[0] in "LR":
            f = 0 if token[0] == "L" else 1
            if token[1] == "k":
                lift[i, f], kick[i, f] = KICK_LIFT_CM * a, 30 * a
            else:
                x, z = FOOT_PLACES[token[1]]
                current[f] = at + (x * mirror[f, 0], z)
                if token[1] != "x":  # only a crossing step brings the feet closer than MIN_STANCE_CM
                    gap = current[0, 0] - current[1, 0]
                    current[f, 0] += mirror[f, 0] * max(MIN_STANCE_CM - gap, 0.0)
                lift[i, f] = STEP_LIFT_CM * a
        elif token[0] == "B":
            jump[i] = JUMP_CM * a
            lift[i] = (JUMP_CM + 8) * a
            current = at + (wide if token == "Bo" else home)
            dip[i] *= 1.4
        elif token == "D":
            dip[i] *= 2.0
        place[i] = current
        landed = [f for f in (0, 1) if lift[i, f] > 0]
        centre[i] = current.mean(axis=0)
        if len(landed) == 1:  # the weight goes onto the foot that lands
            centre[i] += SWAY * (current[landed[0]] - centre[i])
    return {"place": place, "lift": lift, "kick": kick, "jump": jump, "dip": dip, "centre": centre, "tokens": tokens}


def _knees(hip: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Knees (T, 3) of legs from ``hip`` to ``ankle`` (T, 3), bones THIGH and SHIN, bent forward (+z);
    a leg too short to reach keeps its knee on the hip-ankle line."""
    d_vec = ankle - hip
    d = np.maximum(np.linalg.norm(d_vec, axis=-1, keepdims=True), 1e-6)
    n = d_vec / d
    d = np.minimum(d, 0.999 * (THIGH + SHIN))
    along = (THIGH**2 - SHIN**2 + d**2) / (2 * d)
    out = np.sqrt(np.clip(THIGH**2 - along**2, 0.0, None))
    pole = np.array([0.0, 0.2, 1.0]) - (n @ np.array([0.0, 0.2, 1.0]))[:, None] * n
    pole /= np.linalg.norm(pole, axis=-1, keepdims=True)
    return hip + along * n + out * pole


def synth_motion(
    piece: Piece,
    *,
    seconds: float,
    dancer_scale: float,
    energy: float,
    lag_s: float,
    yaw: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Beat-locked dance, shape (round(seconds * 60), 17, 3), cm, y up, no NaN: :func:`synth_dance`
    without its step plan."""
    keypoints, _ = synth_dance(
        piece, seconds=seconds, dancer_scale=dancer_scale, energy=energy, lag_s=lag_s, yaw=yaw, rng=rng
    )
    return keypoints


def synth_dance(
    piece: Piece,
    *,
    seconds: float,
    dancer_scale: float,
    energy: float,
    lag_s: float,
    yaw: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Beat-locked dance and the steps it dances.

    The feet follow the genre's step patterns (STEPS: a foot lifts after one beat and lands on the
    next), the pelvis rides over the supporting foot and bends the knees on every beat, the legs
    reach the feet (two-bone IK), and the trunk, head and arms dance the genre's groove plus one
    move per bar on top. Every part is still on the beats.

    Returns
    -------
    keypoints : np.ndarray, shape (round(seconds * 60), 17, 3)
        COCO joints, cm, y up, no NaN.
    steps : list of (float, str)
        Each music beat of the sequence (time in s; the dancer is ``lag_s`` behind it) with its
        step token (STEPS), in order from the piece's first beat (a downbeat).
    """
    style = GENRE_STYLE[piece.genre]
    T = int(round(seconds * MOTION_FPS))
    t = np.arange(T) / MOTION_FPS
    b = (t - lag_s - piece.first_beat_s) / piece.beat_period_s
    k_lo = int(np.floor(b.min()))
    ks = np.arange(k_lo, int(np.floor(b.max())) + 2)  # every beat a frame lies after or before
    k0 = np.floor(b).astype(int) - k_lo  # index in ks of the beat each frame follows
    u = b - np.floor(b)  # 0 on that beat, → 1 at the next
    accents = np.asarray(style["accents"])
    amp_beat = energy * (0.55 + 0.45 * accents[ks % piece.metre])
    amp = _beat_curve(amp_beat, k0, u)
    fw = _footwork(piece.genre, ks, amp_beat, rng)

    # feet: planted between landings, an eased travel and an arc in the air before each landing
    air = np.clip((u - AIR_START) / (1 - AIR_START), 0.0, 1.0)  # the part of the beat a stepping foot flies
    arc = _arc(air)[:, None]
    place = fw["place"][k0] + (fw["place"][k0 + 1] - fw["place"][k0]) * _ease(air)[:, None, None]
    lifted = fw["lift"][k0 + 1] * arc  # (T, 2) cm
    ankles = np.stack([place[..., 0], ANKLE_Y + lifted, place[..., 1] + fw["kick"][k0 + 1] * arc], axis=-1)
    # pelvis: over the supporting foot, knees bent on the beat, up in a jump
    centre = _beat_curve(fw["centre"], k0, u)
    centre[:, 0] += ROCK_CM * amp * np.cos(np.pi * b)  # the groove rocks the body side to side, one way per beat
    bend = _beat_curve(fw["dip"], k0, u) * _rebound(u)
    bar = ks // piece.metre
    level = np.asarray(LEVELS_CM)[rng.integers(0, len(LEVELS_CM), size=int(bar.max() - bar.min() + 1))]
    bend += _beat_curve(level[bar - bar.min()], k0, u)
    pelvis = np.stack([centre[:, 0], PELVIS[1] - STANCE_CM - bend + fw["jump"][k0 + 1] * arc[:, 0], centre[:, 1]], -1)

    # trunk, head and arms: groove and one move per bar, leaning forward as the knees bend
    upper = np.broadcast_to(REST_POSE - PELVIS, (T, J, 3)).copy()
    upper += _move(style["groove"], b, amp, piece.metre)
    choice = rng.integers(0, len(style["moves"]), size=int(bar.max() - bar.min() + 1))
    for m, name in enumerate(style["moves"]):
        mask = _beat_curve((choice[bar - bar.min()] == m).astype(float), k0, u)
        upper += _move(name, b, amp * mask, piece.metre)
    lean = LEAN_PER_CM * bend
    y, z = upper[..., 1].copy(), upper[..., 2].copy()
    upper[..., 1] = np.cos(lean)[:, None] * y - np.sin(lean)[:, None] * z
    upper[..., 2] = np.sin(lean)[:, None] * y + np.cos(lean)[:, None] * z
    pose = pelvis[:, None, :] + upper
    pose[:, [15, 16]] = ankles
    for hip, knee, ankle in ((11, 13, 15), (12, 14, 16)):
        pose[:, knee] = _knees(pose[:, hip], pose[:, ankle])

    # dancer: size, facing, travel drift
    pose = pose * dancer_scale
    c, s = np.cos(yaw), np.sin(yaw)
    x, z = pose[..., 0].copy(), pose[..., 2].copy()
    pose[..., 0], pose[..., 2] = c * x + s * z, -s * x + c * z
    drift = np.cumsum(rng.standard_normal((T, 3)) * np.array([0.15, 0.0, 0.15]), axis=0)
    drift = np.apply_along_axis(lambda v: np.convolve(v, np.ones(60) / 60, mode="same"), 0, drift)
    pose += drift[:, None, :] + rng.uniform(-50, 50, size=3) * np.array([1, 0, 1])
    pose += rng.standard_normal(pose.shape) * 0.3
    music_beat = piece.first_beat_s + ks * piece.beat_period_s
    steps = [(float(tb), tok) for tb, tok, k in zip(music_beat, fw["tokens"], ks) if k >= 0 and tb + lag_s <= t[-1]]
    return pose, steps


def add_nan_runs(kp: np.ndarray, rng: np.random.Generator, *, max_runs: int = 3, max_len: int = 8) -> np.ndarray:
    """Blank whole frames as AIST++ keypoints3d does where triangulation failed."""
    kp = kp.copy()
    for _ in range(rng.integers(1, max_runs + 1)):
        n = int(rng.integers(1, max_len + 1))
        start = int(rng.integers(1, kp.shape[0] - n - 1))
        kp[start : start + n] = np.nan
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
    """Decide every piece and sequence (names, durations, dancers, splits) from the seed.

    ``scale`` (default 1) repeats each genre's block of ``pieces_per_genre`` pieces that many
    times (pieces ``m{genre}{k}`` for k up to ``scale * pieces_per_genre - 1``, tempo and split
    by ``k % pieces_per_genre``) and multiplies the NaN and ignored sequences alike: ``scale``
    times the data, with pieces and sequences of the same lengths. Scale 1 is the default set.
    """
    rng = _rng(seed, "plan")
    pieces, sequences = [], []
    n_pieces, scale = cfg["pieces_per_genre"], cfg.get("scale", 1)
    for gi, genre in enumerate(cfg["genres"]):
        dancers = [f"d{3 * gi + i + 1:02d}" for i in range(3)]
        ch = 0
        for k in range(n_pieces * scale):
            piece = make_piece(genre, k, _rng(seed, f"m{genre}{k}"), tempo_k=k % n_pieces)
            pieces.append(piece)
            kb = k % n_pieces
            split = "test" if kb == n_pieces - 1 else "val" if kb == n_pieces - 2 else "train"
            kinds = ["BM"] * cfg["basic_per_piece"] + ["FM"] * cfg["advanced_per_piece"]
            for kind in kinds:
                ch += 1
                lo, hi = cfg["basic_seconds"] if kind == "BM" else cfg["advanced_seconds"]
                dancer = dancers[int(rng.integers(0, len(dancers)))]
                name = f"g{genre}_s{kind}_cAll_{dancer}_{piece.name}_ch{ch:02d}"
                seconds = min(float(rng.uniform(lo, hi)), cfg["music_seconds"])
                sequences.append({"name": name, "piece": piece, "seconds": seconds, "dancer": dancer, "split": split})
    order = rng.permutation(len(sequences))
    n_nan, n_ign = cfg["nan_sequences"] * scale, cfg["ignored_sequences"] * scale
    nan_set = {sequences[i]["name"] for i in order[:n_nan]}
    ign_set = {sequences[i]["name"] for i in order[n_nan : n_nan + n_ign]}
    for s in sequences:
        s["nan"], s["ignored"] = s["name"] in nan_set, s["name"] in ign_set
    return pieces, sequences


def _write_piece(job: tuple) -> None:
    piece, seconds, sr, seed, music_dir = job
    y, beats = synth_music(piece, seconds=seconds, sr=sr, rng=_rng(seed, f"audio:{piece.name}"))
    sf.write(str(music_dir / f"{piece.name}.wav"), y, sr, subtype="PCM_16")
    lines = ["time_s\tbeat_in_bar"] + [f"{t:.6f}\t{int(p)}" for t, p in beats]
    (music_dir / f"{piece.name}.beats.tsv").write_text("\n".join(lines) + "\n")


def dancer_style(dancer: str, seed: int) -> dict:
    """A dancer's :func:`synth_motion` keywords, fixed by the seed: ``dancer_scale``, ``energy`` and
    ``lag_s`` (s behind the beat)."""
    rng = _rng(seed, f"dancer:{dancer}")
    scale, energy, lag = (float(rng.uniform(lo, hi)) for lo, hi in ((0.88, 1.12), (0.8, 1.2), (0.0, 0.04)))
    return {"dancer_scale": scale, "energy": energy, "lag_s": lag}


def sequence_dance(seq: dict, *, seed: int) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """:func:`synth_dance` of one sequence of :func:`plan_synthetic` (its clean ``keypoints3d_optim``
    unless it is on the ignore list) and its steps."""
    rng = _rng(seed, f"motion:{seq['name']}")
    return synth_dance(
        seq["piece"],
        seconds=seq["seconds"],
        **dancer_style(seq["dancer"], seed),
        yaw=float(rng.uniform(-0.35, 0.35)),
        rng=rng,
    )


def _write_sequence(job: tuple) -> None:
    s, seed, ann = job
    name = s["name"]
    clean, _ = sequence_dance(s, seed=seed)
    scale = dancer_style(s["dancer"], seed)["dancer_scale"]
    rng = _rng(seed, f"defects:{name}")
    if s["ignored"]:
        clean = add_glitches(clean, rng)
    kp = add_nan_runs(clean, rng) if s["nan"] else clean
    _pickle(ann / "keypoints3d" / f"{name}.pkl", {"keypoints3d": kp, "keypoints3d_optim": clean})
    # SMPL-style root track: only translation and heading are meaningful, body pose is zero.
    root = clean[:, [11, 12]].mean(axis=1)
    poses = np.zeros((kp.shape[0], 72), dtype=np.float32)
    hip = clean[:, 11] - clean[:, 12]
    poses[:, 1] = np.arctan2(-hip[:, 2], hip[:, 0])
    _pickle(
        ann / "motions" / f"{name}.pkl",
        {
            "smpl_poses": poses,
            "smpl_trans": (root * scale).astype(np.float32),
            "smpl_scaling": np.array([scale], dtype=np.float32),
            "smpl_loss": 0.0,
        },
    )


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
    parallel_map(
        _write_piece,
        [(p, cfg["music_seconds"], cfg["music_sample_rate"], seed, music) for p in pieces],
        workers=workers,
    )
    parallel_map(_write_sequence, [(s, seed, ann) for s in sequences], workers=workers)
    for split in ("train", "val", "test"):
        names = [s["name"] for s in sequences if s["split"] == split]
        (ann / "splits" / f"crossmodal_{split}.txt").write_text("\n".join(names) + "\n")
    (ann / "ignore_list.txt").write_text("\n".join(s["name"] for s in sequences if s["ignored"]) + "\n")
    (out_dir / "README.md").write_text(
        "# Synthetic AIST++-layout dataset\n\nGenerated by `python -m pipelines.stages.acquire` "
        f"with seed {seed}: {len(pieces)} music pieces, {len(sequences)} sequences.\n"
        "See `pipelines/data/synthetic.py` for how music and motion are made.\n"
    )
    log.info("synthetic: wrote %d pieces and %d sequences to %s", len(pieces), len(sequences), out_dir)
