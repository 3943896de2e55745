"""Shard codecs: every ``shards.compression`` option round-trips exactly, the Blosc fast read
(straight from the raw chunks) gives what h5py gives for any row range, and the DataLoader
path gives the in-process batches whatever the worker count."""

import h5py
import numpy as np
import pytest
import torch

from pipelines.data.shard_codec import BLOSC_FILTER_ID, CODECS, compression_settings, read_rows, row_chunk_codec
from pipelines.data.torch_data import ShardDataset, shard_dataloader, shard_loader
from pipelines.features.shards import INDEX_DTYPE

N, W, CHUNK = 37, 11, 8  # 37 rows: the last chunk is partial


def _arrays(rng):
    return {
        "motion/joints": rng.standard_normal((N, W, 17, 3)).astype(np.float32),
        "motion/kinetic_beats": (rng.random((N, W)) < 0.2).astype(np.uint8),
        "audio/logmel": (rng.standard_normal((N, W, 96)) * 10 - 40).astype(np.float32),
    }


def _write(path, arrays, codec):
    with h5py.File(path, "w") as f:
        index = np.zeros(N, dtype=INDEX_DTYPE)
        index["genre"] = [b"BR", b"PO"] * (N // 2) + [b"BR"] * (N % 2)
        index["split"] = b"train"
        f.create_dataset("index", data=index)
        for name, a in arrays.items():
            f.create_dataset(
                name, data=a, chunks=(CHUNK,) + a.shape[1:], **compression_settings(compression=codec, level=5)
            )


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_round_trips_and_the_fast_read_matches_h5py(tmp_path, codec):
    arrays = _arrays(np.random.default_rng(0))
    path = tmp_path / f"{codec}.h5"
    _write(path, arrays, codec)
    with h5py.File(path) as f:
        d = f["motion/joints"]
        assert row_chunk_codec(d) == {"blosc-lz4": "blosc", "blosc-zstd": "blosc", "none": "raw"}.get(codec)
        if codec.startswith("blosc-"):
            assert d.id.get_create_plist().get_filter(0)[0] == BLOSC_FILTER_ID
        for name, a in arrays.items():
            assert np.array_equal(f[name][:], a)  # plain h5py (with hdf5plugin imported) reads it
            # aligned, unaligned, one row, the partial last chunk, the whole set, empty
            for start, stop in [(0, 8), (8, 24), (3, 5), (5, 30), (32, 37), (30, 37), (0, N), (4, 4)]:
                assert np.array_equal(read_rows(f[name], start, stop), a[start:stop]), (name, start, stop)


def test_fast_read_refuses_a_wrong_output_buffer(tmp_path):
    _write(tmp_path / "s.h5", _arrays(np.random.default_rng(0)), "blosc-lz4")
    with h5py.File(tmp_path / "s.h5") as f, pytest.raises(ValueError, match="C-contiguous"):
        read_rows(f["audio/logmel"], 0, 8, out=np.empty((8, W, 95), np.float32))


def test_unknown_codec_is_named():
    with pytest.raises(ValueError, match="'zip'.*blosc-lz4"):
        compression_settings(compression="zip", level=4)


def test_read_batch_any_order_and_dataloader_workers_give_the_same_batches(tmp_path):
    arrays = _arrays(np.random.default_rng(1))
    _write(tmp_path / "s.h5", arrays, "blosc-lz4")
    ds = ShardDataset(tmp_path / "s.h5")
    for idx in ([8, 9, 10, 11], [0], [36], [5, 2, 30], [1, 3, 2]):
        batch = ds.read_batch(idx)
        for name, a in arrays.items():
            assert np.array_equal(batch[name].numpy(), a[idx]), (name, idx)
    batches = shard_loader(ds, batch_size=16, shuffle=True, seed=3)
    want = [b for _ in range(2) for b in batches]  # two epochs: the shuffled order moves on
    assert [len(b["genre"]) for b in want[:3]] != [len(b["genre"]) for b in want[3:]]
    for workers in (0, 2):
        loader = shard_dataloader(ds, batch_size=16, shuffle=True, seed=3, num_workers=workers)
        got = [b for _ in range(2) for b in loader]
        assert len(got) == len(want) == 6
        for g, w in zip(got, want):
            assert g["genre"] == w["genre"]
            for name in arrays:
                assert isinstance(g[name], torch.Tensor) and torch.equal(g[name], w[name])
