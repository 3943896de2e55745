"""EnCodec's real 24 kHz architecture with random weights, for offline tests and benchmarks (no
stage imports this, so changing it reruns nothing)."""

from __future__ import annotations

from pathlib import Path

import torch


def save_random_encodec(path: Path | str, *, seed: int = 0) -> Path:
    """Save the real 24 kHz EnCodec architecture with random weights to ``path`` (``save_pretrained``
    layout), for offline tests and benchmarks. Its default codebooks are all zeros (every code would
    be 0), so each codebook is drawn around the random encoder's outputs, as EnCodec's k-means
    initialisation does: codes then vary from frame to frame."""
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(seed)
    model = EncodecModel(EncodecConfig()).eval()
    with torch.no_grad():
        latent = model.encoder(0.1 * torch.randn(1, 1, 4 * 24000))[0].T  # (frames, dim)
        for layer in model.quantizer.layers:
            spread = (latent - latent.mean(0)).std()
            picks = latent[torch.randint(0, latent.shape[0], (layer.codebook.embed.shape[0],))]
            layer.codebook.embed.copy_(picks + 0.5 * spread * torch.randn_like(picks))
            latent = latent - latent.mean(0)  # what the next residual layer roughly sees
    model.save_pretrained(path)
    return Path(path)
