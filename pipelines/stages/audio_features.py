"""Stage ``audio_features``: per-piece music features on the motion frame grid.

``python -m pipelines.stages.audio_features --params params.yaml``

Audio is resampled to ``sr = motion_fps * hop_length`` (30720 Hz for AIST++, 12800 Hz for
MusicToDance) so that analysis frame ``i`` (centred at ``i * hop_length / sr`` s) is
motion frame ``i``. One ``<piece>.npz`` per music piece holds:

================  ============  ======================================================
``logmel``        (T, n_mels)   log-mel power spectrogram, dB re 1.0 (float32)
``mfcc``          (T, n_mfcc)   MFCC from the log-mel (float32)
``onset_env``     (T,)          spectral-flux onset strength, arbitrary units (float32)
``tempogram``     (T, win)      autocorrelation tempogram of ``onset_env``, lag 0..win-1 frames
``beats``         (T,)          1 on estimated beat frames, else 0 (uint8)
``downbeats``     (T,)          1 on estimated downbeat frames, else 0 (uint8)
``beat_frames``   (B,)          estimated beat frame indices (int64)
``tempo_bpm``     ()            global tempo estimate, beats per minute
``beats_per_bar`` ()            metre chosen for the downbeat estimate
``sample_rate``   ()            analysis sample rate, Hz
``hop_length``    ()            samples per frame
================  ============  ======================================================

Downbeats: librosa has no downbeat tracker, so bars are placed on the beat phase where the
spectrum changes most (chords change on bar lines), over the candidate metres in params.

``--part I/N`` (the DAG's ``audio_features_part<I>`` jobs when ``cluster.fan_out`` N > 1) does only
every N-th piece from the I-th into ``features/audio.part<I>of<N>/``; stage ``gather_parts`` joins the
parts into the folder one job would have written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cli import n_workers, parallel_map, part_path, run_stage, take_part
from ..config import Paths
from ..data.audio_io import SILENT_PEAK_DBFS, read_audio_mono
from ..data.items import index_pieces
from ..datasets import audio_sample_rate, motion_fps
from ..errors import InputError, Skips
from ..features.audio import audio_feature_kwargs, extract_audio_features, warm_up_jit
from ..files import atomic_dir

log = logging.getLogger(__name__)


def _one_piece(job: tuple) -> tuple[str, str | None, InputError | None]:
    piece, audio_path, params, out_dir = job
    a = params["audio"]
    try:
        y, sr_in = read_audio_mono(
            audio_path,
            min_sample_rate=a["min_sample_rate"],
            min_seconds=a["min_seconds"],
            min_peak_dbfs=SILENT_PEAK_DBFS,  # digital silence is no music: 0 beats, tempo 0
        )
    except InputError as err:
        return piece, None, err
    feats = extract_audio_features(y, sr_in=sr_in, **audio_feature_kwargs(params))
    out = Path(out_dir) / f"{piece}.npz"
    np.savez(out, **feats)
    return piece, str(out), None


def main(params: dict, *, part: tuple[int, int] | None = None) -> None:
    paths = Paths(params)
    todo = take_part(index_pieces(params), part)
    skips = Skips(params["on_error"])
    warm_up_jit(params)
    with atomic_dir(part_path(paths.audio_features, part)) as tmp:
        results = parallel_map(_one_piece, [(p, a, params, tmp) for p, a in todo], workers=n_workers(params))
        for piece, _, err in results:
            if err is not None:
                skips.handle(piece, err)
        skips.write(tmp / "skipped.csv")
    log.info(
        "audio features: %d pieces at %d Hz (%d fps), %d skipped",
        len(todo) - len(skips.rows),
        audio_sample_rate(params),
        motion_fps(params),
        len(skips.rows),
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], parted=True))
