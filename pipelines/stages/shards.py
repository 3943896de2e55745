"""Stage ``shards``: HDF5 shards per (window size, split), ready for minibatch reads.

``python -m pipelines.stages.shards --params params.yaml``

``shards/w<frames>_<split>.h5`` holds N windows of W frames:

======================  ================  =============================================
``motion/joints``       (N, W, J, 3) f4   root-centred joints, body units
``motion/root``         (N, W, 3) f4      root trajectory, body units
``motion/bones``        (N, W, E, 3) f4   bone vectors child − parent (away from the root), body units
``motion/velocity``     (N, W, J, 3) f4   joint velocity, body units / s
``motion/kinetic_beats`` (N, W) u1        1 on kinetic beats
``motion/nan_mask``     (N, W) u1         1 where the source frame was NaN (interpolated)
``audio/logmel``        (N, W, n_mels) f4 log-mel, dB
``audio/mfcc``          (N, W, n_mfcc) f4
``audio/onset_env``     (N, W) f4         onset strength
``audio/tempogram``     (N, W, win) f4    tempogram
``audio/beats``         (N, W) u1         estimated beats
``audio/downbeats``     (N, W) u1         estimated downbeats
``index``               (N,) compound     sequence, piece, genre, dancer, split,
                                          start_frame, audio_start_frame
``codes/encodec``       (N, C, Q) i2      EnCodec codes of the window's drum+bass stem
                                          (``youtube`` only): C code frames, Q codebooks
======================  ================  =============================================

For ``youtube``, code frame ``round(t * code_rate / fps)`` starts at motion frame ``t``
(code_rate 75 Hz for the 24 kHz model: a 120-frame window at 24 fps holds 375 codes);
``code_frame_rate`` is a file attribute. Codes up to ``MAX_SHORT_CODES`` frames short of a
window (audio that ends a few ms before the video) are padded with their last frame; shorter
ones are an error.

File attributes give the dataset, fps, sample rate, hop length, skeleton layout and
feature units. Datasets are chunked ``chunk_windows`` windows at a time and compressed with
the ``compression`` codec (:mod:`pipelines.data.shard_codec`; Blosc-LZ4 by default);
no timestamps are stored, so the same inputs give byte-identical files. Each file is
written to a temporary name and renamed; ``shards/manifest.json`` lists every file with
its SHA-256, size and window count.
"""

from __future__ import annotations

import json
import logging

from ..cli import run_stage
from ..config import SPLITS, Paths
from ..data.shard_codec import compression_settings
from ..datasets import audio_sample_rate, dataset, motion_fps, skeleton_layout, window_specs
from ..features.shards import read_window_index, write_shard
from ..files import atomic_dir, sha256_file

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    cfg = params["shards"]
    compression = compression_settings(compression=cfg["compression"], level=cfg["compression_level"])
    attrs = {
        "dataset": params["dataset"],
        "motion_fps": motion_fps(params),
        "sample_rate": audio_sample_rate(params),
        "hop_length": params["audio"]["hop_length"],
        "skeleton": skeleton_layout(params),
    }
    codes = dataset(params).codes  # EnCodec codes stored with each window (YouTube clips)
    codes_dir = codes(params)[1] if codes is not None else None
    manifest = {"dataset": params["dataset"], "files": {}}
    with atomic_dir(paths.shards) as tmp:
        for spec in window_specs(params):
            frames = spec["frames"]
            for split in SPLITS:
                index = read_window_index(paths.windows / f"w{frames}.csv", split=split)
                if not len(index):
                    log.warning("w%d %s: no windows, no shard written", frames, split)
                    continue
                name = paths.shard_file(frames, split).name
                write_shard(
                    tmp / name,
                    index,
                    window_frames=frames,
                    motion_dir=paths.motion_features,
                    audio_dir=paths.audio_features,
                    attrs={**attrs, "window_frames": frames, "stride": spec["stride"], "split": split},
                    chunk_windows=cfg["chunk_windows"],
                    compression=compression,
                    codes_dir=codes_dir,
                )
                manifest["files"][name] = {
                    "sha256": sha256_file(tmp / name),
                    "bytes": (tmp / name).stat().st_size,
                    "windows": len(index),
                    "window_frames": frames,
                    "split": split,
                }
                log.info("%s: %d windows, %.1f MB", name, len(index), (tmp / name).stat().st_size / 1e6)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
