"""Audio tokenizers for dance-to-music generation: a waveform <-> (K, T) integer codes.

One interface, two implementations:

- :class:`EncodecTokenizer`: the codes of the ``encodec`` stage (EnCodec 24 kHz; at 1.5 kbps
  2 codebooks of 1024 codes at 75 frames/s), decoded by the EnCodec decoder. Needs the weights.
- :class:`MelKMeansTokenizer`: residual k-means over log-mel frames, fitted on the training
  split (:func:`fit_mel_kmeans`): codebook 1 quantises the frame, codebook k the residual that
  codebooks 1 … k−1 left (as EnCodec's residual vector quantiser does with its codebooks).
  Rendered back by Griffin-Lim through the mel filterbank (``librosa.feature.inverse.mel_to_audio``).
  Needs no download, so generated audio can be heard and measured anywhere. At 24 kHz with a
  hop of 320 samples it runs at EnCodec's 75 frames/s.

``tokenize(y, sr=…) -> codes`` takes mono audio at any rate (resampled to ``sample_rate``) and
gives ``int64`` codes (n_codebooks, frames) in ``[0, codebook_size)``; ``detokenize(codes) ->
y`` gives mono float32 audio at ``sample_rate``, ``frames * hop_length`` samples long.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import librosa
import numpy as np

from ...files import atomic_file

#: Floor added to mel power before the log, so silence has a finite log-mel.
MEL_FLOOR = 1e-6


class AudioTokenizer(Protocol):
    """What the generator, its metrics and its report need of a tokenizer."""

    sample_rate: int
    frame_rate: float
    n_codebooks: int
    codebook_size: int

    def tokenize(self, y: np.ndarray, *, sr: int) -> np.ndarray: ...

    def detokenize(self, codes: np.ndarray) -> np.ndarray: ...


def _check_codes(codes: np.ndarray, *, n_codebooks: int, codebook_size: int) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] != n_codebooks:
        raise ValueError(f"codes must be ({n_codebooks}, frames), got {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= codebook_size):
        raise ValueError(f"codes outside [0, {codebook_size}): {codes.min()} … {codes.max()}")
    return codes.astype(np.int64)


@dataclass
class MelKMeansTokenizer:
    """Residual k-means codes of log-mel frames (module docstring).

    ``centroids`` (n_codebooks, codebook_size, n_mels) in log-mel units.
    """

    centroids: np.ndarray
    sample_rate: int
    n_fft: int
    hop_length: int
    griffin_lim_iters: int = 32

    @property
    def n_codebooks(self) -> int:
        return self.centroids.shape[0]

    @property
    def codebook_size(self) -> int:
        return self.centroids.shape[1]

    @property
    def n_mels(self) -> int:
        return self.centroids.shape[2]

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    def logmel(self, y: np.ndarray, *, sr: int) -> np.ndarray:
        """Log-mel frames (frames, n_mels) of mono audio; ``len(y) // hop_length`` frames at ``sample_rate``."""
        return log_mel_frames(
            y, sr=sr, sample_rate=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels
        )

    def quantize(self, frames: np.ndarray) -> np.ndarray:
        """Codes (n_codebooks, frames) of log-mel frames (frames, n_mels)."""
        residual = np.asarray(frames, dtype=np.float64)
        codes = np.empty((self.n_codebooks, residual.shape[0]), dtype=np.int64)
        for k, book in enumerate(self.centroids.astype(np.float64)):
            d = (residual**2).sum(1)[:, None] - 2 * residual @ book.T + (book**2).sum(1)[None, :]
            codes[k] = d.argmin(axis=1)
            residual = residual - book[codes[k]]
        return codes

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        """Log-mel frames (frames, n_mels): the sum of each frame's centroids."""
        codes = _check_codes(codes, n_codebooks=self.n_codebooks, codebook_size=self.codebook_size)
        return sum(self.centroids[k][codes[k]] for k in range(self.n_codebooks))

    def tokenize(self, y: np.ndarray, *, sr: int) -> np.ndarray:
        return self.quantize(self.logmel(y, sr=sr))

    def detokenize(self, codes: np.ndarray) -> np.ndarray:
        """Griffin-Lim of the STFT magnitude whose mel power is the codes' centroids. The linear power
        is the least-squares inverse of the mel filterbank, clipped at 0 (librosa's ``mel_to_audio``
        solves the same by NNLS, about 20x slower at these sizes and barely different to hear)."""
        mel_power = np.exp(self.dequantize(codes)).T  # (n_mels, frames)
        if mel_power.shape[1] == 0:
            return np.zeros(0, dtype=np.float32)
        # a centred STFT of frames * hop samples has one frame more: repeat the last one
        mel_power = np.concatenate([mel_power, mel_power[:, -1:]], axis=1)
        basis = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels)
        magnitude = np.sqrt(np.maximum(np.linalg.pinv(basis) @ mel_power, 0.0))
        y = librosa.griffinlim(
            magnitude,
            n_iter=self.griffin_lim_iters,
            hop_length=self.hop_length,
            n_fft=self.n_fft,
            length=(mel_power.shape[1] - 1) * self.hop_length,
            random_state=0,
        )
        return y.astype(np.float32)

    def save(self, path: Path) -> Path:
        with atomic_file(Path(path), "wb") as fh:
            np.savez(
                fh,
                centroids=self.centroids.astype(np.float32),
                sample_rate=np.int64(self.sample_rate),
                n_fft=np.int64(self.n_fft),
                hop_length=np.int64(self.hop_length),
                griffin_lim_iters=np.int64(self.griffin_lim_iters),
            )
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> MelKMeansTokenizer:
        with np.load(path) as z:
            return cls(
                centroids=z["centroids"],
                sample_rate=int(z["sample_rate"]),
                n_fft=int(z["n_fft"]),
                hop_length=int(z["hop_length"]),
                griffin_lim_iters=int(z["griffin_lim_iters"]),
            )


def log_mel_frames(y: np.ndarray, *, sr: int, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """Log mel power (frames, n_mels) of mono ``y`` resampled to ``sample_rate``: ``len // hop_length`` frames,
    frame t centred on sample ``t * hop_length``."""
    y = np.asarray(y, dtype=np.float32)
    if sr != sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate)
    n = y.size // hop_length
    mel = librosa.feature.melspectrogram(
        y=y, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0
    )
    return np.log(mel[:, :n].T + MEL_FLOOR)


def fit_mel_kmeans(
    frames: np.ndarray,
    *,
    n_codebooks: int,
    codebook_size: int,
    sample_rate: int,
    n_fft: int,
    hop_length: int,
    griffin_lim_iters: int = 32,
    max_frames: int = 50000,
    seed: int = 0,
) -> MelKMeansTokenizer:
    """Fit the residual codebooks on log-mel ``frames`` (N, n_mels) of the training split.

    At most ``max_frames`` frames (a seeded subsample) are used; each codebook is a k-means
    (k-means++ start) on what the previous codebooks left.
    """
    from sklearn.cluster import KMeans

    frames = np.asarray(frames, dtype=np.float64)
    if frames.shape[0] < codebook_size:
        raise ValueError(f"{frames.shape[0]} frames cannot fit {codebook_size} codes per codebook")
    rng = np.random.default_rng(seed)
    if frames.shape[0] > max_frames:
        frames = frames[rng.choice(frames.shape[0], size=max_frames, replace=False)]
    books, residual = [], frames
    for k in range(n_codebooks):
        km = KMeans(n_clusters=codebook_size, n_init=1, random_state=seed + k).fit(residual)
        books.append(km.cluster_centers_)
        residual = residual - km.cluster_centers_[km.labels_]
    return MelKMeansTokenizer(
        centroids=np.stack(books).astype(np.float32),
        sample_rate=sample_rate,
        n_fft=n_fft,
        hop_length=hop_length,
        griffin_lim_iters=griffin_lim_iters,
    )


def encodec_codebooks(bandwidth_kbps: float, *, frame_rate: float, codebook_size: int) -> int:
    """Codebooks EnCodec uses at a bandwidth: bits per second / (frames per second x bits per code)."""
    return int(round(bandwidth_kbps * 1000 / (frame_rate * np.log2(codebook_size))))


class EncodecTokenizer:
    """EnCodec codes (module docstring); ``model`` is a loaded ``transformers.EncodecModel``."""

    def __init__(self, model, *, bandwidth_kbps: float):
        from ...ingest.encodec import frame_rate

        self.model, self.bandwidth_kbps = model, bandwidth_kbps
        self.sample_rate = int(model.config.sampling_rate)
        self.frame_rate = float(frame_rate(model))
        self.codebook_size = int(model.config.codebook_size)
        self.n_codebooks = encodec_codebooks(
            bandwidth_kbps, frame_rate=self.frame_rate, codebook_size=self.codebook_size
        )

    def tokenize(self, y: np.ndarray, *, sr: int) -> np.ndarray:
        from ...ingest.encodec import encode

        return encode(self.model, y, sr=sr, bandwidth_kbps=self.bandwidth_kbps).astype(np.int64)

    def detokenize(self, codes: np.ndarray) -> np.ndarray:
        from ...ingest.encodec import decode_codes

        codes = _check_codes(codes, n_codebooks=self.n_codebooks, codebook_size=self.codebook_size)
        return decode_codes(self.model, codes).astype(np.float32)


def token_layout(params: dict) -> dict:
    """``n_codebooks``, ``codebook_size``, ``frame_rate`` and ``sample_rate`` of the configured
    tokenizer (``dance2music.tokenizer``), without loading it: ``mel_kmeans`` from its params,
    ``encodec`` from the 24 kHz architecture's config at ``encodec.bandwidth_kbps``."""
    if params["dance2music"]["tokenizer"] == "mel_kmeans":
        cfg = params["dance2music"]["mel_kmeans"]
        return {
            "n_codebooks": cfg["n_codebooks"],
            "codebook_size": cfg["codebook_size"],
            "frame_rate": cfg["sample_rate"] / cfg["hop_length"],
            "sample_rate": cfg["sample_rate"],
        }
    from transformers import EncodecConfig

    config = EncodecConfig()
    frame_rate = config.sampling_rate / float(np.prod(config.upsampling_ratios))
    return {
        "n_codebooks": encodec_codebooks(
            params["encodec"]["bandwidth_kbps"], frame_rate=frame_rate, codebook_size=config.codebook_size
        ),
        "codebook_size": int(config.codebook_size),
        "frame_rate": frame_rate,
        "sample_rate": int(config.sampling_rate),
    }


def load_tokenizer(params: dict) -> AudioTokenizer:
    """The configured tokenizer (``dance2music.tokenizer``): the fitted ``mel_kmeans`` file of stage
    ``fit_tokenizer``, or the ``encodec`` stage's model at ``encodec.bandwidth_kbps``."""
    if params["dance2music"]["tokenizer"] == "mel_kmeans":
        from ...errors import InputError
        from .files import tokenizer_files

        path = tokenizer_files(params)["tokenizer"]
        if not path.exists():
            raise InputError(path, "tokenizer not found: run stage fit_tokenizer first")
        return MelKMeansTokenizer.load(path)
    from ...ingest.encodec import load_encodec

    return EncodecTokenizer(
        load_encodec(params["encodec"]["model"]), bandwidth_kbps=params["encodec"]["bandwidth_kbps"]
    )


def token_logmel(tokenizer: AudioTokenizer, codes: np.ndarray, *, n_mels: int = 64) -> np.ndarray:
    """Log-mel frames (frames, n_mels) that codes (K, frames) stand for: the summed centroids of the
    offline tokenizer (no rendering), or the log-mel of the decoded audio at one frame per code frame."""
    if isinstance(tokenizer, MelKMeansTokenizer):
        return tokenizer.dequantize(codes)
    hop = int(round(tokenizer.sample_rate / tokenizer.frame_rate))
    y = tokenizer.detokenize(codes)
    mel = log_mel_frames(
        y, sr=tokenizer.sample_rate, sample_rate=tokenizer.sample_rate, n_fft=4 * hop, hop_length=hop, n_mels=n_mels
    )
    return mel[: codes.shape[1]]
