"""PyTorch access to the HDF5 shards.

>>> ds = ShardDataset("data/synthetic/shards/w229_train.h5", fields=("motion/joints", "audio/logmel"))
>>> item = ds[0]            # {"motion/joints": Tensor(229, 17, 3), "audio/logmel": Tensor(229, 96), "genre": "BR", ...}
>>> batches = shard_loader(ds, batch_size=32, shuffle=True, seed=0)  # chunk-aligned reads, this process
>>> loader = shard_dataloader(ds, batch_size=32, shuffle=True, num_workers=2)  # the same batches from 2 workers
>>> loader = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=2)  # also works, window by window

Batches of consecutive windows are read with :func:`pipelines.data.shard_codec.read_rows`,
which decompresses Blosc chunks straight into the batch. The file is opened lazily in each
worker process, so the dataset can be used with ``DataLoader(num_workers>0)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from .shard_codec import read_rows

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
        self._dsets: dict[str, h5py.Dataset] = {}

    def __len__(self) -> int:
        return len(self.index)

    def _h5(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "r", rdcc_nbytes=64 << 20)
            self._dsets = {k: self._file[k] for k in self.fields}  # h5py's name lookup costs ~0.1 ms
        return self._file

    def meta(self, i: int) -> dict:
        row = self.index[i]
        return {k: (row[k].decode() if isinstance(row[k], bytes) else int(row[k])) for k in META_FIELDS}

    def __getitem__(self, i: int) -> dict:
        self._h5()
        item = {k: torch.from_numpy(np.asarray(d[i])) for k, d in self._dsets.items()}
        item.update(self.meta(i))
        return item

    def read_batch(self, indices: Sequence[int]) -> dict:
        """Read several windows at once, in the order given.

        Consecutive windows (a chunk-aligned batch, or a whole split) are read with
        :func:`~pipelines.data.shard_codec.read_rows` into one buffer; others through h5py. In
        a DataLoader worker that buffer is in shared memory, so handing the batch to the main
        process copies nothing.
        """
        self._h5()
        idx = np.asarray(indices, dtype=np.int64)
        lo = int(idx.min()) if idx.size else 0
        if idx.size and np.array_equal(idx, np.arange(lo, lo + idx.size)):
            out = _batch_tensors(self._dsets, idx.size, shared=get_worker_info() is not None)
            for k, dset in self._dsets.items():
                read_rows(dset, lo, lo + idx.size, out=out[k].numpy())
            return out
        order = np.argsort(idx)
        out = {}
        for k, dset in self._dsets.items():
            block = dset[idx[order]] if idx.size else np.empty((0,) + dset.shape[1:], dset.dtype)
            out[k] = torch.from_numpy(np.ascontiguousarray(block[np.argsort(order)]))
        return out

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"], state["_dsets"] = None, {}
        return state


def _batch_tensors(dsets: dict[str, h5py.Dataset], n: int, *, shared: bool) -> dict[str, torch.Tensor]:
    """Empty tensors for ``n`` rows of each dataset, views of one buffer: numpy's (which asks for
    huge pages, so filling it faults less), or torch's shared memory when ``shared`` (a
    DataLoader worker then hands the batch over without a copy)."""
    offsets, nbytes = {}, 0
    for k, d in dsets.items():
        offsets[k] = nbytes
        nbytes += -(-n * d.dtype.itemsize * int(np.prod(d.shape[1:])) // 64) * 64  # 64-byte aligned
    if shared:
        storage = torch.UntypedStorage._new_shared(nbytes)
        buffer = torch.empty(0, dtype=torch.uint8).set_(storage, 0, (nbytes,)).numpy()
    else:
        buffer = np.empty(nbytes, np.uint8)
    out = {}
    for k, d in dsets.items():
        size = n * d.dtype.itemsize * int(np.prod(d.shape[1:]))
        out[k] = torch.from_numpy(buffer[offsets[k] : offsets[k] + size].view(d.dtype).reshape((n,) + d.shape[1:]))
    return out


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


class _BatchReader(Dataset):
    """A shard seen as batches: item ``indices`` is ``ds.read_batch(indices)`` with its genres.

    In a DataLoader worker a batch read into one shared buffer is sent as that buffer and the
    fields' places in it (:func:`_unpack` rebuilds the fields in the main process): one file
    descriptor crosses per batch instead of one per field.
    """

    def __init__(self, ds: ShardDataset):
        self.ds = ds

    def __getitem__(self, indices: list[int]) -> dict:
        batch = self.ds.read_batch(indices)
        storages = {t.untyped_storage().data_ptr() for t in batch.values()}
        if get_worker_info() is not None and len(storages) == 1 and batch:
            first = next(iter(batch.values()))
            storage = first.untyped_storage()
            layout = {k: (t.dtype, t.storage_offset() * t.element_size(), tuple(t.shape)) for k, t in batch.items()}
            batch = {
                "_buffer": torch.empty(0, dtype=torch.uint8).set_(storage, 0, (storage.nbytes(),)),
                "_layout": layout,
            }
        batch["genre"] = [self.ds.meta(i)["genre"] for i in indices]
        return batch

    def __len__(self) -> int:
        return len(self.ds)


def _unpack(batch: dict) -> dict:
    """The fields of a batch :class:`_BatchReader` sent as one buffer (views, no copy)."""
    if "_buffer" not in batch:
        return batch
    buffer, layout = batch.pop("_buffer"), batch.pop("_layout")
    for k, (dtype, offset, shape) in layout.items():
        nbytes = int(np.prod(shape, dtype=np.int64)) * torch.empty(0, dtype=dtype).element_size()
        batch[k] = buffer[offset : offset + nbytes].view(dtype).view(shape)
    return batch


class ShardDataLoader:
    """Iterable of the batches of a :class:`~torch.utils.data.DataLoader` over
    :class:`_BatchReader` (``loader``), with the fields rebuilt from each batch's buffer."""

    def __init__(self, loader: DataLoader):
        self.loader = loader

    def __iter__(self) -> Iterator[dict]:
        for batch in self.loader:
            yield _unpack(batch)

    def __len__(self) -> int:
        return len(self.loader)


class ShardBatches:
    """Iterable of batches (dicts of stacked tensors plus a ``genre`` list) over a shard."""

    def __init__(self, ds: ShardDataset, *, batch_size: int, shuffle: bool, seed: int = 0):
        self.reader = _BatchReader(ds)
        self.sampler = ChunkBatchSampler(len(ds), batch_size=batch_size, shuffle=shuffle, seed=seed)

    def __iter__(self) -> Iterator[dict]:
        for idx in self.sampler:
            yield self.reader[idx]

    def __len__(self) -> int:
        return len(self.sampler)


def shard_loader(ds: ShardDataset, *, batch_size: int, shuffle: bool, seed: int = 0) -> ShardBatches:
    """Batches of ``batch_size`` consecutive, chunk-aligned windows, in (optionally shuffled) order."""
    return ShardBatches(ds, batch_size=batch_size, shuffle=shuffle, seed=seed)


def shard_dataloader(
    ds: ShardDataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
    prefetch_factor: int = 2,
    pin_memory: bool = False,
) -> ShardDataLoader:
    """The batches of :func:`shard_loader`, read by ``num_workers`` processes.

    Each worker opens the file itself and reads whole chunk-aligned batches (0 workers: this
    process reads them, as :func:`shard_loader` does). Workers stay up between epochs, and each
    epoch's batch order is the sampler's, so a seed gives the same batches whatever the worker
    count.
    """
    loader = DataLoader(
        _BatchReader(ds),
        batch_size=None,
        sampler=ChunkBatchSampler(len(ds), batch_size=batch_size, shuffle=shuffle, seed=seed),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        prefetch_factor=prefetch_factor if num_workers > 0 else None,
        pin_memory=pin_memory,
    )
    return ShardDataLoader(loader)
