"""MCLEMCD's networks (Multimedia Systems 2024, rebuilt from its description): music genre from dance.

- motion encoder: an adaptive graph-conv network (:mod:`pipelines.families.mclemcd.gcn`) over the dataset's
  complete skeleton graph with a genre classification head; inputs ``joints`` (root-centred
  positions), ``limbs`` (bone vector to the parent joint, :meth:`pipelines.data.skeleton.Skeleton.limbs`),
  ``early`` fusion (both, 6 channels, one network) or ``late`` fusion (two networks, logits summed);
- music autoencoder: a COALA-style 2-D conv encoder/decoder on the window's log-mel
  (96 bins × ``window_frames``) to a code of ``embed_dim``, trained by reconstruction MSE;
- regularisers: ``plain``; ``dropout`` (on the motion code before the head); ``fc`` (a fully
  connected mapping network from the motion code to the music code, ``mapping_hidden``
  widths with ReLU between layers — the paper lists only widths);
- collaborative learning (:func:`loss_terms`): phase one trains both parts independently
  (genre cross-entropy; music reconstruction); phase two adds the pair loss (MSE between the
  mapped motion code and the music code) and the motion→music reconstruction loss (the music
  decoder applied to the mapped motion code).

Training, the ablation grid and the scoring protocols are in :mod:`pipelines.families.mclemcd.stage_train`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...training.losses import reconstruction_mse
from .gcn import Graph, GraphEncoder
from .variants import Variant


def segmentation(params: dict) -> dict:
    """``mclemcd.segmentation`` of the configured dataset (its ``default`` for a dataset without one)."""
    seg = params["mclemcd"]["segmentation"]
    return seg.get(params["dataset"], seg["default"])


def resolve_config(params: dict) -> dict:
    """``mclemcd`` params with the chosen size preset (``small`` or ``paper``), the dataset's
    segmentation and the protocol's seed and folds merged in."""
    cfg = dict(params["mclemcd"])
    cfg.update(cfg["sizes"][cfg["size"]])
    cfg.update(segmentation(params))
    # the data protocol is fixed by the main seed and evaluate.folds, whatever seed a run trains with
    cfg.update(protocol_seed=params["seed"], folds=params["evaluate"]["folds"])
    return cfg


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

    def __init__(
        self,
        *,
        layout: str,
        genres: list[str],
        variant: Variant,
        cfg: dict,
        n_mels: int,
        frames: int,
        mel_mean: torch.Tensor,
        mel_std: torch.Tensor,
    ):
        super().__init__()
        self.variant, self.genres, self.frames, self.n_mels = variant, list(genres), frames, n_mels
        self.graph = Graph(layout)
        enc = dict(channels=list(cfg["channels"]), embed_dim=cfg["embed_dim"], kt=cfg["temporal_kernel"])
        streams = {"joints": ["joints"], "limbs": ["limbs"], "early": ["early"], "late": ["joints", "limbs"]}
        self.streams = streams[variant.input]
        self.encoders = nn.ModuleDict(
            {s: GraphEncoder(self.graph, c_in=6 if s == "early" else 3, **enc) for s in self.streams}
        )
        self.heads = nn.ModuleDict({s: nn.Linear(cfg["embed_dim"], len(genres)) for s in self.streams})
        self.drop = nn.Dropout(cfg["dropout"]) if variant.regulariser == "dropout" else nn.Identity()
        self.mapping = (
            _mapping(cfg["embed_dim"], list(cfg["mapping_hidden"]), cfg["embed_dim"])
            if variant.regulariser == "fc"
            else nn.Identity()
        )
        self.music = MusicAutoencoder(
            n_mels=n_mels, frames=frames, channels=list(cfg["music_channels"]), embed_dim=cfg["embed_dim"]
        )
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
        out = {
            "genre": F.cross_entropy(logits, labels),
            "music_recon": reconstruction_mse(self.music.decode(z_music), mel_n),
        }
        if "pair" in terms:
            mapped = self.mapping(z_motion)
            out["pair"] = reconstruction_mse(mapped, z_music)
            out["motion_to_music"] = reconstruction_mse(self.music.decode(mapped), mel_n)
        return out

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> MCLEMCD:
        """Rebuild a trained model (eval mode) from a checkpoint dict written by stage ``mclemcd``."""
        state = ckpt["state_dict"]
        model = cls(
            layout=ckpt["layout"],
            genres=ckpt["genres"],
            variant=Variant(**ckpt["variant"]),
            cfg=ckpt["config"],
            n_mels=ckpt["n_mels"],
            frames=ckpt["frames"],
            mel_mean=state["mel_mean"],
            mel_std=state["mel_std"],
        )
        model.load_state_dict(state)
        return model.eval()


@torch.no_grad()
def predict(model: MCLEMCD, data: dict, *, device: torch.device, batch_size: int = 256) -> np.ndarray:
    """Genre probabilities (N, n_genres) of every window."""
    out = []
    for b in torch.arange(len(data["meta"])).split(batch_size):
        out.append(torch.softmax(model.motion(data["joints"][b].to(device))[1], dim=-1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, len(model.genres)))
