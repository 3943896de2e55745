"""Stage ``encodec``: EnCodec codes of every clip's drum+bass stem, and the way back.

``python -m pipelines.stages.encodec --params params.yaml`` encodes
``<youtube.target>/clip_*/drums_bass.wav`` with the ``transformers`` ``EncodecModel`` at
``encodec.bandwidth_kbps`` (1.5 kbps = 2 codebooks at 75 frames/s for the 24 kHz model; a 5-s
clip of 120000 samples gives 2 × 375 codes — DanceToMusic's 2 × 377 came from 120640 samples) and writes ``codes.npz`` beside it: ``codes`` (n_codebooks, frames)
int16, ``frame_rate`` (Hz), ``sample_rate`` (Hz) and ``bandwidth_kbps``. Clips already done
with the same ``encodec`` params are skipped; ``<target>/codes_summary.json`` lists every clip.

Weights come from ``encodec.model`` — a local directory (``save_pretrained`` layout) or a
Hugging Face id found in the local cache. With ``HF_HUB_OFFLINE=1`` nothing is fetched; a
model that is not there fails with one line saying where to put it.
:func:`decode_codes` turns codes back into a waveform.

``--part I/N`` (the DAG's ``<stage>_part<I>`` jobs when ``cluster.fan_out`` N > 1) does only
every N-th clip from the I-th and writes ``<target>/codes_summary.part<I>of<N>.json``; stage
``gather_parts`` joins the parts into the summary one job would have written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cli import run_stage
from ..data.audio_io import read_audio_mono
from ..files import atomic_file, write_json
from ..ingest.clips import run_per_clip, summary_file
from ..ingest.encodec import encode, frame_rate, load_encodec
from ..training.runtime import configure_device

log = logging.getLogger(__name__)


def process_clips(
    clips_dir: Path, cfg: dict, *, device: str = "cpu", part: tuple[int, int] | None = None
) -> list[dict]:
    """Encode every clip not yet done with ``cfg`` (the model on the torch ``device``); returns one
    summary row per clip."""

    def encode_one(clip: Path, model) -> None:
        y, sr = read_audio_mono(clip / "drums_bass.wav", min_sample_rate=8000, min_seconds=0.5)
        codes = encode(model, y, sr=sr, bandwidth_kbps=cfg["bandwidth_kbps"])
        with atomic_file(clip / "codes.npz", "wb") as fh:
            np.savez(
                fh,
                codes=codes,
                frame_rate=np.float64(frame_rate(model)),
                sample_rate=np.int64(model.config.sampling_rate),
                bandwidth_kbps=np.float64(cfg["bandwidth_kbps"]),
            )

    return run_per_clip(
        clips_dir,
        stage="encodec",
        input_name="drums_bass.wav",
        outputs=["codes.npz"],
        stamp=cfg,
        process=encode_one,
        load=lambda: load_encodec(cfg["model"]).to(device),
        part=part,
    )


def main(params: dict, *, part: tuple[int, int] | None = None) -> None:
    target = Path(params["youtube"]["target"])
    summary = process_clips(target, params["encodec"], device=str(configure_device(params)), part=part)
    write_json(summary_file(target, "codes_summary", part), summary)
    log.info(
        "encodec: %d clips encoded, %d reused", sum(not r["reused"] for r in summary), sum(r["reused"] for r in summary)
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
