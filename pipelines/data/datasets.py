"""Readers for the three dataset layouts, producing one sequence table.

Each row of the table (``index/sequences.csv``) describes one dance sequence:

=================  ==========================================================
``sequence``       sequence name (AIST++ name, or MusicToDance folder)
``piece``          music piece name (several sequences may share one)
``genre``          genre code (AIST++ ``BR`` ... ``JB``; MusicToDance ``C R T W``)
``dancer``         dancer id (``d01`` ...; empty for MusicToDance)
``split``          ``train`` / ``val`` / ``test``
``motion_path``    keypoint file
``motion_key``     key inside the pickle, or ``skeletons`` for JSON
``audio_path``     music file
``audio_offset_s`` music time (s) at motion frame 0
=================  ==========================================================
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

import numpy as np

from ..errors import InputError, Skips
from ..files import stable_hash
from .safe_pickle import load_pickle_dict

log = logging.getLogger(__name__)

INDEX_FIELDS = [
    "sequence",
    "piece",
    "genre",
    "dancer",
    "split",
    "motion_path",
    "motion_key",
    "audio_path",
    "audio_offset_s",
]
AIST_NAME = re.compile(
    r"^g(?P<genre>[A-Z]{2})_s(?P<sit>[A-Z]{2})_c(?P<cam>\w+?)_d(?P<dancer>\d{2})_m(?P<piece>[A-Z]{2}\d+)_ch(?P<ch>\d{2,})$"
)


def parse_aist_name(name: str) -> dict:
    """Split an AIST++ sequence name into genre, situation, dancer, piece, choreography."""
    m = AIST_NAME.match(name)
    if not m:
        raise ValueError(f"not an AIST++ sequence name: {name!r}")
    return {"genre": m["genre"], "dancer": f"d{m['dancer']}", "piece": f"m{m['piece']}"}


def read_name_list(path: Path) -> list[str]:
    """Names one per line; blank lines, a missing trailing newline and a UTF-8 byte-order mark
    (which would otherwise stick to the first name) are fine. Raises :class:`InputError` on a
    file that is not UTF-8 text."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text: {exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def derive_split(names: list[str], *, fraction: float, seed: int, key=lambda n: n) -> set[str]:
    """Deterministically pick ``fraction`` of the groups (``key(name)``) of ``names``."""
    groups = sorted({key(n) for n in names}, key=lambda g: (stable_hash(f"{seed}:{g}"), g))
    n_pick = int(round(fraction * len(groups)))
    picked = set(groups[:n_pick])
    return {n for n in names if key(n) in picked}


def assign_splits(
    groups: list[str],
    *,
    named: dict,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    source: str,
    need_val: bool = True,
) -> tuple[dict[str, str], str]:
    """Split of every group (a dance, a source video) and how val was chosen.

    Groups named in ``named`` (``{"val": [...], "test": [...], "train": [...]}``) go where they
    are named and the others to train (or nowhere, when ``train`` is named too); a name that is
    not among ``groups`` is an :class:`InputError` naming ``source``.
    Without names, ``test_fraction`` and ``val_fraction`` of the groups are drawn in a seeded,
    name-stable order. When val ends up empty while ``need_val``, one training group is moved to
    val (``"derived"``); when that would leave no training group, or no test group is left, the
    split is refused with one line naming ``source``.
    """
    order = sorted(groups, key=lambda n: (stable_hash(f"{seed}:{n}"), n))
    if named:
        known = set(groups)
        for split, names in named.items():
            unknown = [n for n in names if n not in known]
            if unknown:
                raise InputError(source, f"splits.{split} names {', '.join(unknown)}, which the dataset does not have")
        split_of = {n: split for split, names in named.items() for n in names}
        rest = "train" if "train" not in named else None
        split_of = {n: split_of.get(n, rest) for n in order}
        split_of = {n: s for n, s in split_of.items() if s is not None}
        val_source = "named in params"
    else:
        n_test = max(1, int(round(test_fraction * len(order)))) if len(order) >= 3 else 0
        n_val = max(1, int(round(val_fraction * len(order)))) if len(order) >= 3 else 0
        split_of = {
            n: ("test" if i < n_test else "val" if i < n_test + n_val else "train") for i, n in enumerate(order)
        }
        val_source = "drawn from the fractions"
    if need_val and "val" not in split_of.values():
        train = [n for n in order if split_of.get(n) == "train"]
        if len(train) < 2:
            raise InputError(
                source,
                f"no validation group and {len(train)} training group(s) to derive one from: "
                "name one under splits.val or add data",
            )
        split_of[train[0]] = "val"
        val_source = "derived: one training group moved to val"
    if need_val and "test" not in split_of.values():
        raise InputError(source, "no test group: name one under splits.test or raise test_fraction")
    return split_of, val_source


def index_aist_layout(
    root: Path, music_dir: Path, *, keypoints: str, val_fraction: float, seed: int, skips: Skips
) -> tuple[list[dict], list[dict], dict]:
    """Index an AIST++ tree (the real one, or the synthetic one written in its layout).

    Returns
    -------
    rows : list of dict
        One per usable sequence (see module docstring).
    excluded : list of dict
        Sequences dropped by the dataset's own ignore list.
    info : dict
        How the splits were obtained (``val_source``: ``file`` or ``derived``).
    """
    ann = root / "annotations"
    split_dir = ann / "splits"
    if not split_dir.is_dir():
        raise InputError(split_dir, "AIST++ splits folder not found (expected annotations/splits/)")
    ignore_file = ann / "ignore_list.txt"
    ignored = set(read_name_list(ignore_file)) if ignore_file.exists() else set()
    splits: dict[str, list[str]] = {}
    for split in ("train", "val", "test"):
        f = split_dir / f"crossmodal_{split}.txt"
        if f.exists():
            splits[split] = read_name_list(f)
    if "train" not in splits or "test" not in splits:
        raise InputError(split_dir, "crossmodal_train.txt and crossmodal_test.txt are required")
    info = {"val_source": "file" if "val" in splits else "derived", "ignored_listed": len(ignored)}
    if "val" not in splits:
        val = derive_split(
            splits["train"],
            fraction=val_fraction,
            seed=seed,
            key=lambda n: parse_aist_name(n)["piece"] if AIST_NAME.match(n) else n,
        )
        splits["val"] = [n for n in splits["train"] if n in val]
        splits["train"] = [n for n in splits["train"] if n not in val]
        log.warning(
            "%s has no crossmodal_val.txt: derived val from %.0f%% of the train music pieces (%d sequences, seed %d)",
            split_dir,
            100 * val_fraction,
            len(splits["val"]),
            seed,
        )
    rows, excluded, seen = [], [], set()
    for split in ("train", "val", "test"):
        split_file = split_dir / f"crossmodal_{split}.txt"
        for name in splits[split]:
            if name in seen:
                skips.handle(name, InputError(split_file, f"{name} appears in more than one split"))
                continue
            seen.add(name)
            if name in ignored:
                excluded.append({"item": name, "path": str(ignore_file), "reason": "in the dataset's ignore list"})
                continue
            try:
                meta = parse_aist_name(name)
            except ValueError as exc:
                skips.handle(name, InputError(split_file, str(exc)))
                continue
            motion = ann / "keypoints3d" / f"{name}.pkl"
            audio = music_dir / f"{meta['piece']}.wav"
            if not motion.is_file():
                skips.handle(name, InputError(split_file, f"{name} is listed but {motion} does not exist"))
                continue
            if not audio.is_file():
                skips.handle(name, InputError(audio, f"music for {name} not found"))
                continue
            rows.append(
                {
                    "sequence": name,
                    **meta,
                    "split": split,
                    "motion_path": str(motion),
                    "motion_key": keypoints,
                    "audio_path": str(audio),
                    "audio_offset_s": 0.0,
                }
            )
    return rows, excluded, info


def read_musictodance_config(path: Path) -> tuple[int, int]:
    """``(start_position, end_position)`` of a MusicToDance ``config.json``: the music frames
    (25 fps) where the dance starts and ends. The release's skeletons hold the dance from
    ``start_position`` on and stop a few frames before ``end_position`` (1 to 56 frames early
    in the 35 public dances with both files), so the motion needs no cut; ``start_position`` is
    the music time of motion frame 0.

    Raises
    ------
    InputError
        Naming ``path``: unreadable JSON, a missing or non-integer position, a negative start,
        or an end not after the start.
    """
    try:
        cfg = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable config.json: {type(exc).__name__}: {exc}") from exc
    if not isinstance(cfg, dict):
        raise InputError(path, f"expected a JSON object with start_position and end_position, got {type(cfg).__name__}")
    positions = []
    for key in ("start_position", "end_position"):
        value = cfg.get(key)
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not integral:
            raise InputError(path, f"needs an integer {key} (music frame at 25 fps), got {value!r}")
        positions.append(int(value))
    start, end = positions
    if start < 0:
        raise InputError(path, f"start_position {start} is negative")
    if end <= start:
        raise InputError(path, f"end_position {end} is not after start_position {start}")
    return start, end


def index_musictodance(
    root: Path,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    skips: Skips,
    motion_fps: int,
    splits: dict | None = None,
) -> tuple[list[dict], list[dict], dict]:
    """Index MusicToDance dance folders, split by dance (no dance in two splits)."""
    if not root.is_dir():
        raise InputError(root, "MusicToDance folder not found")
    dances = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("DANCE_"))
    if not dances:
        raise InputError(root, "no DANCE_* folders found")
    good = []
    for d in dances:
        missing = [f for f in ("audio.mp3", "config.json", "skeletons.json") if not (d / f).is_file()]
        if missing:
            skips.handle(d.name, InputError(d, f"missing {', '.join(missing)}"))
            continue
        try:
            start, _ = read_musictodance_config(d / "config.json")
        except InputError as err:
            skips.handle(d.name, err)
            continue
        good.append((d, start))
    split_of, val_source = assign_splits(
        [d.name for d, _ in good],
        named=splits or {},
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        source="params.yaml: datasets.musictodance",
    )
    rows = []
    for d, start in good:
        if d.name not in split_of:  # left out of every named split
            continue
        genre = d.name.split("_")[1]
        rows.append(
            {
                "sequence": d.name,
                "piece": d.name,
                "genre": genre,
                "dancer": "",
                "split": split_of[d.name],
                "motion_path": str(d / "skeletons.json"),
                "motion_key": "skeletons",
                "audio_path": str(d / "audio.mp3"),
                "audio_offset_s": start / motion_fps,
            }
        )
    return rows, [], {"val_source": f"by dance, {val_source}", "dances": len(rows)}


def load_keypoints(path: str | Path, key: str) -> np.ndarray:
    """Load one sequence's 3-D keypoints, shape (T, J, 3), float64, cm, NaN where missing.

    ``key`` is ``keypoints3d`` / ``keypoints3d_optim`` (AIST++ pickle), ``skeletons``
    (MusicToDance JSON) or ``mediapipe_world`` (the pose stage's ``pose.npz``: world landmarks in
    metres with y down, returned in cm with y up). Raises :class:`InputError` on anything else.
    """
    path = Path(path)
    if key == "mediapipe_world":
        try:
            with np.load(path) as f:
                kp = np.asarray(f["world"], dtype=np.float64) * np.array([100.0, -100.0, 100.0])
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(path, f"unreadable pose file: {type(exc).__name__}: {exc}") from exc
    elif key == "skeletons":
        try:
            data = json.loads(path.read_text())
            kp = np.asarray(data["skeletons"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(path, f"unreadable skeletons.json: {type(exc).__name__}: {exc}") from exc
    else:
        data = load_pickle_dict(path, required=(key,))
        kp = np.asarray(data[key], dtype=np.float64)
    if kp.ndim != 3 or kp.shape[2] != 3 or kp.shape[0] < 2:
        raise InputError(path, f"{key} has shape {kp.shape}, expected (T, J, 3) with T >= 2")
    return kp


def index_youtube(
    clips_dir: Path,
    *,
    val_fraction: float,
    test_fraction: float,
    drop_glitchy: bool,
    seed: int,
    skips: Skips,
    splits: dict | None = None,
) -> tuple[list[dict], list[dict], dict]:
    """Index the clips that stage ``youtube_clips`` cut and stage ``pose`` processed.

    Every clip is its own music piece (``audio.wav``, the full mix); the motion is its
    ``pose.npz``. Splits are drawn by source video (the URL), so windows of one video never
    land in two splits, even when several CSV rows cut it. Clips flagged glitchy by the pose stage are excluded when
    ``drop_glitchy``.
    """
    manifest = clips_dir / "manifest.csv"
    if not manifest.is_file():
        raise InputError(manifest, "clip manifest not found (run stage youtube_clips)")
    with open(manifest, newline="") as fh:
        clips = [r for r in csv.DictReader(fh) if r["status"] in ("ok", "reused")]
    rows, excluded = [], []
    for c in clips:
        d = clips_dir / c["clip"]
        pose, quality, audio = d / "pose.npz", d / "pose_quality.json", d / "audio.wav"
        if not pose.is_file() or not quality.is_file():
            skips.handle(c["clip"], InputError(pose, "no pose for this clip (run stage pose)"))
            continue
        q = json.loads(quality.read_text()) if drop_glitchy else {}
        if q.get("glitchy"):
            flags = "; ".join(q.get("flags", []))
            excluded.append(
                {
                    "item": c["clip"],
                    "path": str(quality),
                    "reason": "flagged glitchy by the pose stage" + (f" ({flags})" if flags else ""),
                }
            )
            continue
        rows.append(
            {
                "sequence": c["clip"],
                "piece": c["clip"],
                "genre": "YT",
                "dancer": "",
                "split": "",
                "source": c["url"].strip(),
                "motion_path": str(pose),
                "motion_key": "mediapipe_world",
                "audio_path": str(audio),
                "audio_offset_s": 0.0,
            }
        )
    sources = sorted({r["source"] for r in rows})
    if splits:
        split_of, val_source = assign_splits(
            sources,
            named=splits,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            seed=seed,
            source="params.yaml: datasets.youtube",
            need_val=False,
        )
    else:  # no model trains on the clips yet: a short list may leave val and test empty
        order = sorted(sources, key=lambda s: (stable_hash(f"{seed}:{s}"), s))
        n_test, n_val = int(round(test_fraction * len(order))), int(round(val_fraction * len(order)))
        split_of = {
            s: ("test" if i < n_test else "val" if i < n_test + n_val else "train") for i, s in enumerate(order)
        }
        val_source = "drawn from the fractions"
    rows = [r for r in rows if r["source"] in split_of]
    for r in rows:
        r["split"] = split_of[r.pop("source")]
    return (
        rows,
        excluded,
        {"val_source": f"by source video, {val_source}", "source_videos": len(sources), "clips_listed": len(clips)},
    )
