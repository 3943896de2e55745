"""Stage ``acquire``: obtain the configured dataset and index its sequences.

- ``synthetic``: generate the embedded dataset into ``data/synthetic/raw`` (AIST++ layout,
  see :mod:`pipelines.synthetic`), then index it like a real AIST++ tree.
- ``aistpp``: index the AIST++ tree at ``datasets.aistpp.root`` / ``music_dir`` (or, with
  ``source: download``, the tree that stage ``download_aistpp`` fetched).
- ``musictodance``: index the dance folders at ``datasets.musictodance.root``.
- ``youtube``: index the clips of stage ``youtube_clips`` that have a pose (stage ``pose``).

Outputs ``index/sequences.csv`` (see :mod:`pipelines.datasets`), ``index/skipped.csv``
(bad inputs dropped under ``on_error: skip``), ``index/excluded.csv`` (the dataset's own
ignore list) and ``index/info.json``.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import numpy as np
import soundfile as sf

from . import synthetic as syn
from .common import InputError, Skips, atomic_dir, parallel_map, run_stage, n_workers, stable_hash, write_csv
from .config import MOTION_FPS, Paths, aistpp_location
from .datasets import INDEX_FIELDS, index_aist_layout, index_musictodance, index_youtube

log = logging.getLogger(__name__)


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_hash(name)])


def plan_synthetic(cfg: dict, seed: int) -> tuple[list[syn.Piece], list[dict]]:
    """Decide every piece and sequence (names, durations, dancers, splits) from the seed."""
    rng = _rng(seed, "plan")
    pieces, sequences = [], []
    n_pieces = cfg["pieces_per_genre"]
    for gi, genre in enumerate(cfg["genres"]):
        dancers = [f"d{3 * gi + i + 1:02d}" for i in range(3)]
        ch = 0
        for k in range(n_pieces):
            piece = syn.make_piece(genre, k, _rng(seed, f"m{genre}{k}"))
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
    y, beats = syn.synth_music(piece, seconds=seconds, sr=sr, rng=_rng(seed, f"audio:{piece.name}"))
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
    clean = syn.synth_motion(s["piece"], seconds=s["seconds"], dancer_scale=scale, energy=energy,
                             lag_s=lag, yaw=float(rng.uniform(-0.35, 0.35)), rng=rng)
    if s["ignored"]:
        clean = syn.add_glitches(clean, rng)
    kp = syn.add_nan_runs(clean, rng) if s["nan"] else clean
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
        "# Synthetic AIST++-layout dataset\n\nGenerated by `python -m pipelines.acquire` "
        f"with seed {seed}: {len(pieces)} music pieces, {len(sequences)} sequences.\n"
        "See `pipelines/synthetic.py` for how music and motion are made.\n")
    log.info("synthetic: wrote %d pieces and %d sequences to %s", len(pieces), len(sequences), out_dir)


def build_index(params: dict, skips: Skips) -> tuple[list[dict], list[dict], dict]:
    dataset, seed = params["dataset"], params["seed"]
    if dataset == "musictodance":
        cfg = params["datasets"]["musictodance"]
        return index_musictodance(Path(cfg["root"]), val_fraction=cfg["val_fraction"],
                                  test_fraction=cfg["test_fraction"], seed=seed, skips=skips,
                                  motion_fps=MOTION_FPS[dataset])
    if dataset == "youtube":
        cfg = params["datasets"]["youtube"]
        return index_youtube(Paths(params).clips, val_fraction=cfg["val_fraction"], test_fraction=cfg["test_fraction"],
                             drop_glitchy=cfg["drop_glitchy"], seed=seed, skips=skips)
    if dataset == "synthetic":
        root = Paths(params).raw
        return index_aist_layout(root, root / "music", keypoints="keypoints3d", val_fraction=0.1,
                                 seed=seed, skips=skips)
    cfg = params["datasets"]["aistpp"]
    root, music_dir = aistpp_location(params)
    return index_aist_layout(root, music_dir, keypoints=cfg["keypoints"],
                             val_fraction=cfg["val_fraction"], seed=seed, skips=skips)


def main(params: dict) -> None:
    paths = Paths(params)
    if params["dataset"] == "synthetic":
        with atomic_dir(paths.raw) as tmp:
            generate_synthetic(params, tmp)
    skips = Skips(params["on_error"])
    with atomic_dir(paths.index) as tmp:
        rows, excluded, info = build_index(params, skips)
        if not rows:
            raise InputError(paths.index, "no usable sequences (see skipped.csv when on_error: skip)")
        write_csv(tmp / "sequences.csv", rows, fieldnames=INDEX_FIELDS)
        skips.write(tmp / "skipped.csv")
        write_csv(tmp / "excluded.csv", excluded, fieldnames=["item", "path", "reason"])
        info.update({"dataset": params["dataset"], "sequences": len(rows), "skipped": len(skips.rows),
                     "excluded": len(excluded),
                     "per_split": {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}})
        (tmp / "info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    log.info("indexed %d sequences (%s), skipped %d, excluded %d", len(rows), info["per_split"],
             len(skips.rows), len(excluded))


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
