"""The shards' HDF5 codecs (``shards.compression``) and a fast read of Blosc-compressed rows.

Every option is lossless; ``make bench`` (``python -m pipelines.bench.shards``) measures them
side by side:

=============  =================================================================
``blosc-lz4``  Blosc, LZ4, byte-shuffle (default): decodes fastest at about 1.2x
               gzip's size
``blosc-zstd`` Blosc, Zstandard, byte-shuffle: smaller, slower
``gzip``       HDF5's deflate with byte-shuffle: readable by any HDF5 build
``lzf``        h5py's LZF with byte-shuffle
``none``       uncompressed
=============  =================================================================

Blosc shards are plain HDF5 with filter 32001: h5py reads them once ``hdf5plugin`` is
imported (this module imports it), and so do other HDF5 tools given the plugin path
(``hdf5plugin.PLUGIN_PATH``). :func:`read_rows` skips HDF5's filter pipeline and chunk cache
for them (and for uncompressed shards) and decodes each chunk straight into the output array.
"""

from __future__ import annotations

import h5py
import hdf5plugin  # registers the Blosc filter with h5py (reading and writing)
import numpy as np
from numcodecs import blosc

CODECS = ("blosc-lz4", "blosc-zstd", "gzip", "lzf", "none")
BLOSC_FILTER_ID = 32001
blosc.use_threads = False  # one core per reader: DataLoader workers are the parallelism


def compression_settings(*, compression: str, level: int) -> dict:
    """h5py ``create_dataset`` keywords for codec ``compression`` (one of :data:`CODECS`).

    ``level`` is the codec's compression level (0-9); LZF and ``none`` have none.
    """
    if compression not in CODECS:
        raise ValueError(f"unknown shard compression {compression!r}; one of {', '.join(CODECS)}")
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": level, "shuffle": True}
    cname = compression.removeprefix("blosc-")
    return dict(hdf5plugin.Blosc(cname=cname, clevel=level, shuffle=hdf5plugin.Blosc.SHUFFLE))


def row_chunk_codec(dset: h5py.Dataset) -> str | None:
    """``"blosc"`` or ``"raw"`` (no filter) for a dataset chunked by whole rows (first axis)
    whose chunks :func:`read_rows` can decode itself; ``None`` for anything else."""
    if dset.chunks is None or dset.chunks[1:] != dset.shape[1:]:
        return None
    plist = dset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    return {(): "raw", (BLOSC_FILTER_ID,): "blosc"}.get(tuple(filters))


def read_rows(dset: h5py.Dataset, start: int, stop: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """Rows ``[start, stop)`` of ``dset`` (shape ``(stop - start,) + dset.shape[1:]``).

    For datasets chunked by whole rows, Blosc-compressed or not compressed, each stored chunk
    is read as is and decoded straight into ``out``, past HDF5's filter pipeline and chunk
    cache (a chunk only partly inside the range goes through one chunk-sized buffer); anything
    else is read through h5py. ``out``, when given, must be C-contiguous with that shape and
    dtype.
    """
    shape = (stop - start,) + dset.shape[1:]
    if out is None:
        out = np.empty(shape, dset.dtype)
    elif out.shape != shape or out.dtype != dset.dtype or not out.flags.c_contiguous:
        raise ValueError(f"{dset.name}: out must be C-contiguous {shape} {dset.dtype}, got {out.shape} {out.dtype}")
    codec = row_chunk_codec(dset) if stop > start else None
    if codec is None:
        if stop > start:
            dset.read_direct(out, np.s_[start:stop])
        return out
    rows = dset.chunks[0]
    chunk_shape = (rows,) + dset.shape[1:]
    partial = None
    for c0 in range(start - start % rows, stop, rows):
        a, b = max(start, c0), min(stop, c0 + rows)
        filter_mask, raw = dset.id.read_direct_chunk((c0,) + (0,) * (dset.ndim - 1))
        if filter_mask:  # the writer stored this chunk unfiltered after all: let HDF5 read it
            out[a - start : b - start] = dset[a:b]
        elif codec == "raw":
            out[a - start : b - start] = np.frombuffer(raw, dset.dtype).reshape(chunk_shape)[a - c0 : b - c0]
        elif a == c0 and b == c0 + rows:
            blosc.decompress(raw, out[a - start : b - start])
        else:
            if partial is None:
                partial = np.empty(chunk_shape, dset.dtype)
            blosc.decompress(raw, partial)
            out[a - start : b - start] = partial[a - c0 : b - c0]
    return out
