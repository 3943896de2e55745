"""Stage ``mclemcd``: music genre from dance with collaborative learning (MCLEMCD).

``python -m pipelines.mclemcd --params params.yaml``

The model (Multimedia Systems 2024, rebuilt from its description):

- motion encoder: an adaptive graph-conv network (:mod:`pipelines.gcn`) over the dataset's
  complete skeleton graph with a genre classification head; inputs ``joints`` (root-centred
  positions), ``limbs`` (bone vector to the parent joint), ``early`` fusion (both, 6 channels,
  one network) or ``late`` fusion (two networks, logits summed);
- music autoencoder: a COALA-style 2-D conv encoder/decoder on the window's log-mel
  (96 bins × ``window_frames``) to a code of ``embed_dim``, trained by reconstruction MSE;
- sizes: ``mclemcd.size: small`` (narrow networks, ``epoch_windows`` windows drawn per epoch:
  the whole grid trains in minutes on 2 CPU cores) or ``paper`` (the paper's 64→128→256
  channels, 256-d codes and 4096-wide mapping; for GPU nodes);
- collaborative learning: phase one (``phase1_epochs``) trains both parts independently
  (genre cross-entropy; music reconstruction); phase two (``phase2_epochs``) adds the pair
  loss (MSE between the mapped motion code and the music code) and the motion→music
  reconstruction loss (the music decoder applied to the mapped motion code). Without
  collaborative learning, phase two keeps the phase-one losses, so every variant trains
  for the same number of epochs.
- regularisers: ``plain``; ``dropout`` (on the motion code before the head); ``fc`` (a fully
  connected mapping network from the motion code to the music code, ``mapping_hidden``
  widths with ReLU between layers — the paper lists only widths). Without collaborative
  learning the mapping is unused, so ``fc`` equals ``plain`` and is not trained twice.

Every variant of the ``mclemcd.ablation`` grid is trained and scored under
``mclemcd.protocol``: ``splits`` (the dataset's own train/test split: crossmodal for AIST++,
by dance for MusicToDance), ``leave_one_piece_out`` (every piece once as the test set), or
``leaky_windows`` (windows drawn at random into train/test regardless of piece: the paper's
segment-level MusicToDance split, for comparison only). Accuracy is reported per window,
per segment (majority vote over the windows of each ``segment_frames`` span of a sequence)
and per piece (majority vote over all of a piece's test windows), beside the majority-class
rate, with per-genre confusion matrices.

Outputs: ``models/<dataset>/mclemcd/<variant>.pt`` (protocols ``splits`` and
``leaky_windows``), ``results/<dataset>/mclemcd/metrics.json`` (a DVC metric) and
``results/<dataset>/mclemcd/tables/`` (``ablation.md``, ``confusion_<variant>.csv``,
``history.json``).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .common import InputError, atomic_dir, atomic_file, run_stage
from .config import SKELETON_LAYOUT, SPLITS, Paths
from .gcn import Graph, GraphEncoder
from .train import pick_device, seed_everything
from .torch_data import ShardDataset

log = logging.getLogger(__name__)

INPUTS = ("joints", "limbs", "late", "early")
REGULARISERS = ("plain", "dropout", "fc")


@dataclass(frozen=True)
class Variant:
    """One cell of the paper's ablation table."""

    collaborative: bool
    regulariser: str
    input: str

    @property
    def name(self) -> str:
        return f"{'cl' if self.collaborative else 'nocl'}_{self.regulariser}_{self.input}"


def resolve_config(params: dict) -> dict:
    """``mclemcd`` params with the chosen size preset (``small`` or ``paper``) merged in."""
    cfg = dict(params["mclemcd"])
    cfg.update(cfg["sizes"][cfg["size"]])
    cfg.update(cfg["segmentation"][params["dataset"]])
    return cfg


def ablation_variants(cfg: dict) -> list[Variant]:
    """The grid of ``mclemcd.ablation``, without ``fc`` when collaborative learning is off."""
    grid = cfg["ablation"]
    out = []
    for cl, reg, inp in itertools.product(grid["collaborative"], grid["regulariser"], grid["input"]):
        if reg == "fc" and not cl:
            continue
        out.append(Variant(bool(cl), reg, inp))
    return out


def loss_terms(epoch: int, *, phase1_epochs: int, collaborative: bool) -> tuple[str, ...]:
    """The losses trained in ``epoch`` (0-based): the two-phase schedule."""
    base = ("genre", "music_recon")
    if collaborative and epoch >= phase1_epochs:
        return base + ("pair", "motion_to_music")
    return base


class MusicAutoencoder(nn.Module):
    """COALA-style 2-D conv autoencoder: log-mel (B, frames, n_mels) ↔ code (B, embed_dim)."""

    def __init__(self, *, n_mels: int, frames: int, channels: list[int], embed_dim: int):
        super().__init__()
        self.n_mels, self.frames = n_mels, frames
        enc, prev = [], 1
        for c in channels:
            enc += [nn.Conv2d(prev, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU()]
            prev = c
        self.encoder = nn.Sequential(*enc)
        with torch.no_grad():
            self.grid = tuple(self.encoder(torch.zeros(2, 1, n_mels, frames)).shape[1:])
        flat = int(np.prod(self.grid))
        self.to_code = nn.Linear(flat, embed_dim)
        self.from_code = nn.Linear(embed_dim, flat)
        dec = []
        widths = list(reversed(channels)) + [1]
        for i in range(len(channels)):
            dec.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1))
            if i < len(channels) - 1:
                dec += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(mel.transpose(1, 2)[:, None]).flatten(1))

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        x = self.decoder(self.from_code(code).view(-1, *self.grid))
        return x[:, 0, : self.n_mels, : self.frames].transpose(1, 2)


def _mapping(d_in: int, hidden: list[int], d_out: int) -> nn.Sequential:
    layers, prev = [], d_in
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    return nn.Sequential(*layers, nn.Linear(prev, d_out))


class MCLEMCD(nn.Module):
    """Motion encoder(s) + genre head + music autoencoder + optional mapping network."""

    def __init__(self, *, layout: str, genres: list[str], variant: Variant, cfg: dict, n_mels: int, frames: int,
                 mel_mean: torch.Tensor, mel_std: torch.Tensor):
        super().__init__()
        self.variant, self.genres = variant, list(genres)
        self.graph = Graph(layout)
        enc = dict(channels=list(cfg["channels"]), embed_dim=cfg["embed_dim"], kt=cfg["temporal_kernel"])
        streams = {"joints": ["joints"], "limbs": ["limbs"], "early": ["early"], "late": ["joints", "limbs"]}
        self.streams = streams[variant.input]
        self.encoders = nn.ModuleDict({s: GraphEncoder(self.graph, c_in=6 if s == "early" else 3, **enc)
                                       for s in self.streams})
        self.heads = nn.ModuleDict({s: nn.Linear(cfg["embed_dim"], len(genres)) for s in self.streams})
        self.drop = nn.Dropout(cfg["dropout"]) if variant.regulariser == "dropout" else nn.Identity()
        self.mapping = (_mapping(cfg["embed_dim"], list(cfg["mapping_hidden"]), cfg["embed_dim"])
                        if variant.regulariser == "fc" else nn.Identity())
        self.music = MusicAutoencoder(n_mels=n_mels, frames=frames, channels=list(cfg["music_channels"]),
                                      embed_dim=cfg["embed_dim"])
        self.register_buffer("mel_mean", mel_mean.float())
        self.register_buffer("mel_std", mel_std.float().clamp_min(1e-6))

    def _stream_input(self, stream: str, joints: torch.Tensor) -> torch.Tensor:
        if stream == "joints":
            return joints
        limbs = self.graph.limbs(joints)
        return limbs if stream == "limbs" else torch.cat([joints, limbs], dim=-1)

    def motion(self, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Motion code (B, embed_dim) and genre logits (B, n_genres) of joints (B, frames, J, 3)."""
        codes, logits = [], 0
        for s in self.streams:
            z = self.encoders[s](self._stream_input(s, joints))
            codes.append(z)
            logits = logits + self.heads[s](self.drop(z))
        return torch.stack(codes).mean(dim=0), logits

    def dance_code(self, joints: torch.Tensor) -> torch.Tensor:
        """The motion code mapped into the music code space (identity without ``fc``)."""
        return self.mapping(self.motion(joints)[0])

    def music_code(self, mel: torch.Tensor) -> torch.Tensor:
        return self.music.encode(self.normalise_mel(mel))

    def normalise_mel(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mel_mean) / self.mel_std

    def losses(self, joints: torch.Tensor, mel: torch.Tensor, labels: torch.Tensor, terms: tuple[str, ...]) -> dict:
        z_motion, logits = self.motion(joints)
        mel_n = self.normalise_mel(mel)
        z_music = self.music.encode(mel_n)
        out = {"genre": F.cross_entropy(logits, labels), "music_recon": F.mse_loss(self.music.decode(z_music), mel_n)}
        if "pair" in terms:
            mapped = self.mapping(z_motion)
            out["pair"] = F.mse_loss(mapped, z_music)
            out["motion_to_music"] = F.mse_loss(self.music.decode(mapped), mel_n)
        return out


def load_split(path: Path) -> dict:
    """Joints (N, frames, J, 3), log-mel (N, frames, 96) and the window metadata of one shard."""
    if not path.exists():
        raise InputError(path, "shard not found; run the shards stage (is mclemcd.window_frames in `windows`?)")
    ds = ShardDataset(path, fields=("motion/joints", "audio/logmel"))
    batch = ds.read_batch(range(len(ds)))
    return {"joints": torch.as_tensor(np.asarray(batch["motion/joints"])),
            "mel": torch.as_tensor(np.asarray(batch["audio/logmel"])),
            "meta": [ds.meta(i) for i in range(len(ds))]}


def concat(parts: list[dict]) -> dict:
    parts = [p for p in parts if p["meta"]]
    return {"joints": torch.cat([p["joints"] for p in parts]), "mel": torch.cat([p["mel"] for p in parts]),
            "meta": [m for p in parts for m in p["meta"]]}


def subset(data: dict, idx: np.ndarray) -> dict:
    t = torch.as_tensor(idx, dtype=torch.long)
    return {"joints": data["joints"][t], "mel": data["mel"][t], "meta": [data["meta"][i] for i in idx]}


def train_variant(train: dict, *, variant: Variant, cfg: dict, layout: str, genres: list[str], seed: int,
                  device: torch.device) -> tuple[MCLEMCD, list[dict]]:
    """Train one variant with the two-phase schedule; returns the model and per-epoch losses."""
    seed_everything(seed)
    mel = train["mel"]
    model = MCLEMCD(layout=layout, genres=genres, variant=variant, cfg=cfg, n_mels=mel.shape[2], frames=mel.shape[1],
                    mel_mean=mel.mean(dim=(0, 1)), mel_std=mel.std(dim=(0, 1))).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    labels = torch.tensor([genres.index(m["genre"]) for m in train["meta"]])
    if len(labels) < 2:
        raise InputError("mclemcd", f"{len(labels)} training windows for {variant.name}: nothing to train on "
                                    "(check mclemcd.protocol and the splits)")
    weights = {"genre": 1.0, "music_recon": 1.0, "pair": cfg["pair_weight"], "motion_to_music": cfg["recon_weight"]}
    gen = torch.Generator().manual_seed(seed)
    history = []
    n = len(labels)
    for epoch in range(cfg["phase1_epochs"] + cfg["phase2_epochs"]):
        terms = loss_terms(epoch, phase1_epochs=cfg["phase1_epochs"], collaborative=variant.collaborative)
        model.train()
        sums, batches = Counter(), 0
        order = torch.randperm(n, generator=gen)
        while len(order) < cfg["epoch_windows"]:  # a small training set is cycled through, reshuffled each pass
            order = torch.cat([order, torch.randperm(n, generator=gen)])
        if cfg["epoch_windows"]:
            order = order[: cfg["epoch_windows"]]
        for b in order.split(cfg["batch_size"]):
            if len(b) < 2:
                continue
            parts = model.losses(train["joints"][b].to(device), train["mel"][b].to(device), labels[b].to(device), terms)
            loss = sum(weights[k] * v for k, v in parts.items())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums.update({k: float(v.detach()) for k, v in parts.items()})
            batches += 1
        history.append({"epoch": epoch, "phase": 2 if epoch >= cfg["phase1_epochs"] else 1,
                        **{k: v / max(batches, 1) for k, v in sums.items()}})
    return model.eval(), history


@torch.no_grad()
def predict(model: MCLEMCD, data: dict, *, device: torch.device, batch_size: int = 256) -> np.ndarray:
    """Genre probabilities (N, n_genres) of every window."""
    out = []
    for b in torch.arange(len(data["meta"])).split(batch_size):
        out.append(torch.softmax(model.motion(data["joints"][b].to(device))[1], dim=-1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, len(model.genres)))


def vote(probs: np.ndarray, groups: list) -> dict:
    """Majority vote of window predictions per group (ties: the larger summed probability)."""
    pred = probs.argmax(axis=1)
    out = {}
    for g in dict.fromkeys(groups):
        idx = [i for i, x in enumerate(groups) if x == g]
        counts = np.bincount(pred[idx], minlength=probs.shape[1])
        best = np.flatnonzero(counts == counts.max())
        out[g] = int(best[np.argmax(probs[idx][:, best].sum(axis=0))])
    return out


def score(probs: np.ndarray, meta: list[dict], *, genres: list[str], segment_frames: int, train_genres: list[str]) -> dict:
    """Accuracy per window, segment and piece, the majority-class rate, and the confusion matrix."""
    truth = np.array([genres.index(m["genre"]) for m in meta])
    pred = probs.argmax(axis=1)
    seg = [(m["sequence"], m["start_frame"] // segment_frames) for m in meta]
    pieces = [m["piece"] for m in meta]
    seg_vote, piece_vote = vote(probs, seg), vote(probs, pieces)
    seg_truth = {s: t for s, t in zip(seg, truth)}
    piece_truth = {p: t for p, t in zip(pieces, truth)}
    majority = genres.index(Counter(train_genres).most_common(1)[0][0]) if train_genres else -1
    confusion = np.zeros((len(genres), len(genres)), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    return {
        "window_accuracy": float((pred == truth).mean()),
        "segment_accuracy": float(np.mean([seg_vote[s] == seg_truth[s] for s in seg_vote])),
        "piece_accuracy": float(np.mean([piece_vote[p] == piece_truth[p] for p in piece_vote])),
        "majority_class_window": float((truth == majority).mean()),
        "majority_class_piece": float(np.mean([piece_truth[p] == majority for p in piece_truth])),
        "windows": int(len(truth)), "segments": len(seg_vote), "pieces": len(piece_vote),
        "pieces_correct": int(sum(piece_vote[p] == piece_truth[p] for p in piece_vote)),
        "confusion": confusion.tolist(),
    }


def protocol_folds(data: dict, *, protocol: str, seed: int, leaky_test_fraction: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train indices, test indices) of each fold of ``protocol`` over all windows in ``data``."""
    split = np.array([m["split"] for m in data["meta"]])
    if protocol == "splits":
        return [(np.flatnonzero(split == "train"), np.flatnonzero(split == "test"))]
    n = len(split)
    if protocol == "leaky_windows":
        order = np.random.default_rng(seed).permutation(n)
        n_test = int(round(leaky_test_fraction * n))
        return [(np.sort(order[n_test:]), np.sort(order[:n_test]))]
    pieces = np.array([m["piece"] for m in data["meta"]])
    return [(np.flatnonzero(pieces != p), np.flatnonzero(pieces == p)) for p in sorted(set(pieces))]


def run_variant(data: dict, *, variant: Variant, cfg: dict, layout: str, genres: list[str], seed: int,
                device: torch.device) -> tuple[dict, list, MCLEMCD | None]:
    """Train and score one variant under the configured protocol."""
    folds = protocol_folds(data, protocol=cfg["protocol"], seed=seed, leaky_test_fraction=cfg["leaky_test_fraction"])
    probs, metas, train_genres, histories, model = [], [], [], [], None
    for train_idx, test_idx in folds:
        train = subset(data, train_idx)
        model, hist = train_variant(train, variant=variant, cfg=cfg, layout=layout, genres=genres, seed=seed,
                                    device=device)
        test = subset(data, test_idx)
        probs.append(predict(model, test, device=device))
        metas += test["meta"]
        train_genres += [m["genre"] for m in train["meta"]]
        histories.append(hist)
    metrics = score(np.concatenate(probs), metas, genres=genres, segment_frames=cfg["segment_frames"],
                    train_genres=train_genres)
    return metrics, histories, (model if len(folds) == 1 else None)


def ablation_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """The paper's ablation layout: one row per (collaborative learning, regulariser), one column
    per input; cells are window / segment / piece accuracy (%)."""
    header = ["collaborative learning", "regulariser", *INPUTS]
    rows = []
    for cl in (False, True):
        for reg in REGULARISERS:
            cells, any_cell = [], False
            for inp in INPUTS:
                if not cl and reg == "fc" and Variant(cl, "plain", inp).name in results:
                    cells.append("= plain")
                    continue
                r = results.get(Variant(cl, reg, inp).name)
                any_cell |= r is not None
                cells.append(f"{100 * r['window_accuracy']:.1f} / {100 * r['segment_accuracy']:.1f} / "
                             f"{100 * r['piece_accuracy']:.1f}" if r else "–")
            if any_cell:
                rows.append(["with" if cl else "without", reg, *cells])
    return header, rows


def ablation_caption(summary: dict) -> str:
    first = next(iter(summary["variants"].values()))
    leaky = (" Leaky: windows of one piece fall in both train and test (the paper's MusicToDance split); for "
             "comparison only." if summary["protocol"] == "leaky_windows" else "")
    return (f"MCLEMCD genre accuracy from dance on `{summary['dataset']}`, protocol `{summary['protocol']}`, size "
            f"`{summary['size']}`: window / segment ({summary['segment_frames']} frames, majority vote over its "
            f"{summary['window_frames']}-frame windows) / piece (majority vote) accuracy, %. Majority class: "
            f"{100 * first['majority_class_window']:.1f} % of test windows, {100 * first['majority_class_piece']:.1f} % "
            f"of pieces; {first['windows']} windows, {first['segments']} segments, {first['pieces']} pieces. Without "
            "collaborative learning the FC mapping network has no loss to train it, so that row equals plain." + leaky)


def ablation_markdown(summary: dict) -> str:
    header, rows = ablation_rows(summary["variants"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    return ablation_caption(summary) + "\n\n" + "\n".join(lines) + "\n"


def main(params: dict) -> None:
    cfg = resolve_config(params)
    paths = Paths(params)
    ds = params["dataset"]
    frames = cfg["window_frames"]
    data = concat([load_split(paths.shard_file(frames, s)) if paths.shard_file(frames, s).exists()
                   else {"meta": []} for s in SPLITS])
    if not data["meta"]:
        raise InputError(paths.shards, f"no w{frames} shards")
    genres = sorted({m["genre"] for m in data["meta"]})
    device = pick_device(params["train"]["device"])
    variants = ablation_variants(cfg)
    results, histories, timing = {}, {}, {}
    model_dir, table_dir = paths.models / "mclemcd", paths.results / "mclemcd" / "tables"
    with atomic_dir(model_dir) as mtmp, atomic_dir(table_dir) as ttmp:
        for v in variants:
            t0 = time.perf_counter()
            metrics, hist, model = run_variant(data, variant=v, cfg=cfg, layout=SKELETON_LAYOUT[ds], genres=genres,
                                               seed=params["seed"], device=device)
            timing[v.name] = round(time.perf_counter() - t0, 1)
            results[v.name] = {**asdict(v), **metrics}
            histories[v.name] = hist
            if model is not None:
                torch.save({"state_dict": model.state_dict(), "variant": asdict(v), "genres": genres, "config": cfg,
                            "layout": SKELETON_LAYOUT[ds], "frames": frames, "n_mels": data["mel"].shape[2]},
                           mtmp / f"{v.name}.pt")
            log.info("%s: window %.1f%%, segment %.1f%%, piece %.1f%% (%d/%d) in %.0f s", v.name,
                     100 * metrics["window_accuracy"], 100 * metrics["segment_accuracy"],
                     100 * metrics["piece_accuracy"], metrics["pieces_correct"], metrics["pieces"], timing[v.name])
            with open(ttmp / f"confusion_{v.name}.csv", "w") as fh:
                fh.write("truth\\predicted," + ",".join(genres) + "\n")
                for g, row in zip(genres, metrics["confusion"]):
                    fh.write(g + "," + ",".join(map(str, row)) + "\n")
        summary = {"dataset": ds, "protocol": cfg["protocol"], "size": cfg["size"], "window_frames": frames,
                   "segment_frames": cfg["segment_frames"], "genres": genres, "seconds": timing, "variants": results}
        (ttmp / "ablation.md").write_text(ablation_markdown(summary))
        (ttmp / "history.json").write_text(json.dumps(histories, indent=1) + "\n")
    with atomic_file(paths.results / "mclemcd" / "metrics.json", "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
