"""Stage ``stems``: drum and bass stems of every clip's audio.

``python -m pipelines.stages.stems --params params.yaml`` writes beside each
``<youtube.target>/clip_*/audio.wav``: ``drums.wav``, ``bass.wav`` and ``drums_bass.wav``
(their sum), at the clip's sample rate.

Backends (``stems.backend``):

- ``hpss`` (offline, no weights, the default): librosa's harmonic–percussive separation; the
  percussive part is the drum stem, the harmonic part low-passed at ``stems.bass_cutoff_hz``
  the bass stem.
- ``demucs``: HT-Demucs through ``demucs-infer``, weights from the local checkpoint
  ``stems.demucs_checkpoint`` (a demucs package file such as ``htdemucs.th``; it is a pickle,
  so only use files you trust). Missing weights fail with one line saying where to put them.
- ``spleeter``: Deezer's Spleeter (TensorFlow), weights from
  ``<stems.spleeter_model_dir>/<n>stems/`` (the released ``2stems`` / ``4stems`` checkpoints).
  4 stems: its drums and bass; 2 stems: HPSS of its accompaniment (drums = percussive part,
  bass = low-passed harmonic part). TensorFlow cannot share an environment with torch, so
  this backend runs in ``.venv-spleeter`` (``requirements-spleeter.txt``): the stage builds it
  on first use and re-runs itself there.

Clips already done with the same backend params are skipped; ``<target>/stems_summary.json``
lists every clip.

``--part I/N`` (the DAG's ``<stage>_part<I>`` jobs when ``cluster.fan_out`` N > 1) does only
every N-th clip from the I-th and writes ``<target>/stems_summary.part<I>of<N>.json``; stage
``gather_parts`` joins the parts into the summary one job would have written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from ..cli import ensure_stage_env, run_stage
from ..data.audio_io import read_audio_mono
from ..files import atomic_file, write_json
from ..ingest.clips import run_per_clip, summary_file
from ..ingest.stems import STEMS, backend_config, load_backend, separate

log = logging.getLogger(__name__)


def process_clips(
    clips_dir: Path, cfg: dict, *, device: str = "cpu", part: tuple[int, int] | None = None
) -> list[dict]:
    """Separate every clip not yet done with this backend configuration; one summary row per clip
    (HT-Demucs on the torch ``device``)."""

    def separate_one(clip: Path, model) -> None:
        y, sr = read_audio_mono(clip / "audio.wav", min_sample_rate=8000, min_seconds=0.5)
        for name, stem in separate(y, sr=sr, cfg=cfg, model=model).items():
            with atomic_file(clip / f"{name}.wav", "wb") as fh:
                # scipy's float WAV: libsndfile's would carry a PEAK chunk stamped with the time of
                # writing, so the same stem would differ in bytes (and in the summary's sha256) per run
                wavfile.write(fh, sr, np.clip(stem, -1, 1).astype(np.float32))

    # drums_bass.wav first: its checksum goes into the summary
    outputs = ["drums_bass.wav"] + [f"{s}.wav" for s in STEMS if s != "drums_bass"]
    rows = run_per_clip(
        clips_dir,
        stage="stems",
        input_name="audio.wav",
        outputs=outputs,
        stamp=backend_config(cfg),
        process=separate_one,
        load=lambda: load_backend(cfg, device=device),
        part=part,
    )
    return [{"clip": r["clip"], "backend": cfg["backend"], "reused": r["reused"], "sha256": r["sha256"]} for r in rows]


def main(params: dict, *, part: tuple[int, int] | None = None) -> None:
    if params["stems"]["backend"] == "spleeter":
        ensure_stage_env(".venv-spleeter", module="pipelines.stages.stems", probe="spleeter")
    device = "cpu"
    if params["stems"]["backend"] == "demucs":  # torch: the configured device (not in Spleeter's environment)
        from ..training.runtime import configure_device

        device = str(configure_device(params))
    target = Path(params["youtube"]["target"])
    summary = process_clips(target, params["stems"], device=device, part=part)
    write_json(summary_file(target, "stems_summary", part), summary)
    log.info(
        "stems (%s): %d clips separated, %d reused",
        params["stems"]["backend"],
        sum(not r["reused"] for r in summary),
        sum(r["reused"] for r in summary),
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
