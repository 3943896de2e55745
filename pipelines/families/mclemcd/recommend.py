"""Recommend music for a dance with MCLEMCD (the paper's section 3.4).

``python -m pipelines.families.mclemcd.recommend --params params.yaml --motion DANCE [--top 3] [--json OUT]``

``DANCE`` is a motion file in the configured dataset's skeleton: an AIST++ keypoints pickle
(``.pkl``), a MusicToDance ``skeletons.json`` or a pose-stage ``pose.npz``. It is cut into
``window_frames`` windows; the ``mclemcd.main`` variant (trained by stage ``mclemcd``)
predicts a genre per window and the dance's genre by majority vote. The music library is
every piece of the dataset's index (its log-mel features from stage ``audio_features``); a
piece's code is the mean music-autoencoder code of its windows, the dance's code the mean of
its motion codes mapped into the music space. Pieces of the predicted genre are ranked by
cosine similarity to the dance's code and the top ``--top`` are returned; when the genre has
fewer pieces, the list is filled from the other genres, most similar first.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ...config import ParamsError, Paths, load_params
from ...data.datasets import load_keypoints
from ...datasets import dataset
from ...errors import InputError
from ...evaluation.classification import vote
from ...features.motion import motion_features_for
from ...features.windows import window_starts
from ...files import atomic_file, read_csv
from ...training.checkpoint import load_checkpoint
from .model import MCLEMCD
from .variants import variant_of

log = logging.getLogger(__name__)
MOTION_KEYS = {".pkl": "keypoints3d", ".json": "skeletons", ".npz": "mediapipe_world"}


def load_model(path: Path) -> MCLEMCD:
    """An MCLEMCD checkpoint written by stage ``mclemcd``."""
    return MCLEMCD.from_checkpoint(
        load_checkpoint(
            path,
            missing_hint="run stage mclemcd with protocol splits or leaky_windows and mclemcd.main in the ablation grid",
        )
    )


def windows_of(x: np.ndarray, frames: int) -> np.ndarray:
    """Non-overlapping windows (N, frames, ...) of a sequence (T, ...)."""
    starts = window_starts(length=len(x), frames=frames, stride=frames)
    return (
        np.stack([x[s : s + frames] for s in starts]) if len(starts) else np.zeros((0, frames) + x.shape[1:], x.dtype)
    )


def dance_windows(path: Path, params: dict, frames: int) -> np.ndarray:
    """Root-centred, scale-normalised joint windows (N, frames, J, 3) of a motion file."""
    key = MOTION_KEYS.get(path.suffix)
    read = dataset(params).keypoints
    if key == "keypoints3d" and read is not None:
        key = read(params)  # the array the model was trained on (keypoints3d_optim on AIST++ if so configured)
    if key is None:
        raise InputError(path, f"unknown motion file type {path.suffix!r} (expected {', '.join(MOTION_KEYS)})")
    kp = load_keypoints(path, key)
    feats = motion_features_for(kp, params, source=str(path))
    wins = windows_of(feats["joints"], frames)
    if not len(wins):
        raise InputError(path, f"{len(feats['joints'])} frames: shorter than one {frames}-frame window")
    return wins


@torch.no_grad()
def music_library(model: MCLEMCD, params: dict) -> list[dict]:
    """Every indexed piece with its genre and mean music code."""
    paths = Paths(params)
    genre_of = {r["piece"]: r["genre"] for r in read_csv(paths.index / "sequences.csv")}
    library = []
    for piece in sorted(genre_of):
        with np.load(paths.audio_features / f"{piece}.npz") as a:
            wins = windows_of(a["logmel"], model.frames)
        if len(wins):
            code = model.music_code(torch.from_numpy(wins)).mean(dim=0)
            library.append({"piece": piece, "genre": genre_of[piece], "code": code})
    return library


@torch.no_grad()
def recommend(model: MCLEMCD, windows: np.ndarray, library: list[dict], *, top: int) -> dict:
    """Predicted genre (vote over windows) and the ``top`` pieces (see the module docstring)."""
    joints = torch.from_numpy(windows)
    probs = torch.softmax(model.motion(joints)[1], dim=-1)
    votes = Counter(probs.argmax(dim=1).tolist())
    genre = model.genres[vote(probs.numpy(), ["dance"] * len(windows))["dance"]]
    dance = model.dance_code(joints).mean(dim=0)
    sims = [float(torch.cosine_similarity(dance, item["code"], dim=0)) for item in library]
    ranked = sorted(range(len(library)), key=lambda i: (library[i]["genre"] != genre, -sims[i], library[i]["piece"]))
    picks = [
        {
            "piece": library[i]["piece"],
            "genre": library[i]["genre"],
            "similarity": round(sims[i], 4),
            "same_genre": library[i]["genre"] == genre,
        }
        for i in ranked[:top]
    ]
    return {
        "predicted_genre": genre,
        "windows": len(windows),
        "genre_votes": {model.genres[g]: n for g, n in sorted(votes.items())},
        "recommendations": picks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--motion", required=True, help="the dance: .pkl (AIST++), .json (MusicToDance) or pose.npz")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        params = load_params(args.params)
        main_variant = variant_of(params)
        model = load_model(Paths(params).models / "mclemcd" / f"{main_variant.name}.pt")
        result = recommend(
            model, dance_windows(Path(args.motion), params, model.frames), music_library(model, params), top=args.top
        )
    except (InputError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = {"motion": args.motion, "model": main_variant.name, **result}
    print(
        f"{args.motion}: predicted genre {result['predicted_genre']} "
        f"(votes {result['genre_votes']} over {result['windows']} windows)"
    )
    for rank, r in enumerate(result["recommendations"], 1):
        other = "" if r["same_genre"] else "  (other genre)"
        print(f"  {rank}. {r['piece']}  genre {r['genre']}  similarity {r['similarity']:+.3f}{other}")
    if args.json:
        with atomic_file(Path(args.json), "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
