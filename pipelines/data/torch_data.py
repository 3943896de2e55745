"""PyTorch access to the HDF5 shards.

>>> ds = ShardDataset("data/synthetic/shards/w229_train.h5", fields=("motion/joints", "audio/logmel"))
>>> item = ds[0]            # {"motion/joints": Tensor(229, 17, 3), "audio/logmel": Tensor(229, 96), "genre": "BR", ...}
>>> batches = shard_loader(ds, batch_size=32, shuffle=True, seed=0)  # chunk-aligned reads
>>> loader = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=2)  # also works

The file is opened lazily in each worker process, so the dataset can be used with
``DataLoader(num_workers>0)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

META_FIELDS = ("sequence", "piece", "genre", "dancer", "split", "start_frame", "audio_start_frame")


class ShardDataset(Dataset):
    """Windows of one shard file.

    Parameters
    ----------
    path : str or Path
        A ``w<frames>_<split>.h5`` shard.
    fields : sequence of str
        Datasets to return, e.g. ``("motion/joints", "audio/logmel")``; default all.
    """

    def __init__(self, path: str | Path, *, fields: Sequence[str] | None = None):
        self.path = Path(path)
        with h5py.File(self.path, "r") as f:
            self.index = f["index"][:]
            available = [k for grp in ("motion", "audio") for k in (f"{grp}/{n}" for n in f[grp])]
            self.attrs = dict(f.attrs)
            self.chunk_windows = f[available[0]].chunks[0] if f[available[0]].chunks else 1
        self.fields = tuple(fields) if fields is not None else tuple(available)
        unknown = set(self.fields) - set(available)
        if unknown:
            raise KeyError(f"{self.path}: no datasets {sorted(unknown)}; has {available}")
        self._file: h5py.File | None = None

    def __len__(self) -> int:
        return len(self.index)

    def _h5(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "r", rdcc_nbytes=64 << 20)
        return self._file

    def meta(self, i: int) -> dict:
        row = self.index[i]
        return {k: (row[k].decode() if isinstance(row[k], bytes) else int(row[k])) for k in META_FIELDS}

    def __getitem__(self, i: int) -> dict:
        f = self._h5()
        item = {k: torch.from_numpy(np.asarray(f[k][i])) for k in self.fields}
        item.update(self.meta(i))
        return item

    def read_batch(self, indices: Sequence[int]) -> dict:
        """Read several windows at once (sorted, contiguous reads are fastest)."""
        f = self._h5()
        idx = np.asarray(indices)
        order = np.argsort(idx)
        lo, hi = idx[order[0]], idx[order[-1]] + 1
        out = {}
        for k in self.fields:
            if hi - lo == len(idx):
                block = f[k][lo:hi]
            else:
                block = f[k][np.sort(idx)]
            out[k] = torch.from_numpy(np.ascontiguousarray(block[np.argsort(order)]))
        return out

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        return state


class ChunkBatchSampler(Sampler[list[int]]):
    """Batches of consecutive windows aligned to HDF5 chunks, in shuffled chunk order.

    Reading a batch then decompresses each chunk once instead of once per window.
    """

    def __init__(self, n: int, *, batch_size: int, shuffle: bool, seed: int = 0):
        self.n, self.batch_size, self.shuffle, self.seed, self.epoch = n, batch_size, shuffle, seed, 0

    def __iter__(self) -> Iterator[list[int]]:
        starts = np.arange(0, self.n, self.batch_size)
        if self.shuffle:
            starts = np.random.default_rng([self.seed, self.epoch]).permutation(starts)
            self.epoch += 1
        for s in starts:
            yield list(range(s, min(s + self.batch_size, self.n)))

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size


class ShardBatches:
    """Iterable of batches (dicts of stacked tensors plus a ``genre`` list) over a shard."""

    def __init__(self, ds: ShardDataset, *, batch_size: int, shuffle: bool, seed: int = 0):
        self.ds = ds
        self.sampler = ChunkBatchSampler(len(ds), batch_size=batch_size, shuffle=shuffle, seed=seed)

    def __iter__(self) -> Iterator[dict]:
        for idx in self.sampler:
            batch = self.ds.read_batch(idx)
            batch["genre"] = [self.ds.meta(i)["genre"] for i in idx]
            yield batch

    def __len__(self) -> int:
        return len(self.sampler)


def shard_loader(ds: ShardDataset, *, batch_size: int, shuffle: bool, seed: int = 0) -> ShardBatches:
    """Batches of ``batch_size`` consecutive, chunk-aligned windows, in (optionally shuffled) order."""
    return ShardBatches(ds, batch_size=batch_size, shuffle=shuffle, seed=seed)
