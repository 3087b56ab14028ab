"""Skip data of the long postings lists, for the pruned BM25 (retrieval/local/pruned.py).

    blocks = write_blocks(postings, folder)     # beside postings_*, when they are saved
    blocks = load_blocks(folder)                # None for an index written before them

A list of more than :data:`BLOCK` postings (:class:`~retrieval.local.postings.Postings`) is
cut into blocks of BLOCK postings (the last one shorter). The varint stream needs no change:
a block's first gap is from the previous block's last document (the first block's from 0),
so a block decodes alone given that document, which is stored here with the byte where the
block starts in its list. The BM25 term of a posting,

    idf * tf / (tf + k1 * (1 - b + b * length / avgdl)),

grows with tf and shrinks with the passage's length, for any idf and avgdl; so each block
keeps up to :data:`FRONTIER` (tf, length) pairs such that every posting of the block has a tf
at most and a length at least one pair's (the Pareto frontier of its pairs, neighbours merged
when it has more). The highest term over a block's pairs bounds the block's terms whatever
N, df and avgdl the live collection has at query time (after deltas and deletions too).

The blocks are extra files (``blocks_*.npy``): an index without them (written before them,
or where the extension was not compiled) is scored exhaustively, and stays readable. They are
computed a slice of lists at a time from the encoded postings and written as they come, so
the build holds no more than one slice of them (a few megabytes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

try:
    from retrieval.local import _bm25  # type: ignore[attr-defined]
except ImportError:  # not compiled (no C compiler at install): BM25 scores every posting
    _bm25 = None

log = logging.getLogger(__name__)

#: Postings per block; lists of at most this many postings have no blocks (read whole).
BLOCK = 64

#: (tf, length) pairs kept per block.
FRONTIER = 3

#: Layout of the files; a folder whose ``blocks_meta.npy`` differs is scored exhaustively.
_META = (1, BLOCK, FRONTIER)

#: Postings per slice when computing blocks (bounds the memory the computation takes).
_SLICE_POSTINGS = 1 << 20


class _Stream(Protocol):
    @property
    def dtype(self) -> np.dtype: ...

    def read(self, start: int, stop: int) -> np.ndarray: ...


class Postings(Protocol):
    """What the blocks are computed from (:class:`retrieval.local.postings.Postings`)."""

    indptr: np.ndarray
    doc_offsets: np.ndarray
    lengths: np.ndarray

    @property
    def doc_gaps(self) -> _Stream: ...

    @property
    def tf(self) -> _Stream: ...


def compiled() -> Any:
    """The compiled module, or None when the extension is not importable."""
    return _bm25


@dataclass
class Blocks:
    """The blocks of every list longer than :data:`BLOCK`: ``columns`` (ascending) are those
    lists' tokens; ``columns[i]``'s blocks are ``first[i]:first[i + 1]``; block ``j`` ends
    with document ``last[j]``, starts ``offset[j]`` bytes into its list's varints, and bounds
    its terms by the pairs ``frontier_tf[j * FRONTIER:(j + 1) * FRONTIER]`` (tf 0: unused)
    and ``frontier_length`` alike."""

    columns: np.ndarray
    first: np.ndarray
    last: np.ndarray
    offset: np.ndarray
    frontier_tf: np.ndarray
    frontier_length: np.ndarray

    FILES = (
        "blocks_meta.npy",
        "blocks_columns.npy",
        "blocks_first.npy",
        "blocks_last.npy",
        "blocks_offset.npy",
        "blocks_frontier_tf.npy",
        "blocks_frontier_length.npy",
    )

    def of(self, column: int) -> tuple[int, int]:
        """(first block, how many) of ``column``'s list; (0, 0) for a list without blocks."""
        i = int(np.searchsorted(self.columns, self.columns.dtype.type(column)))  # no cast of the whole array
        if i == len(self.columns) or int(self.columns[i]) != column:
            return 0, 0
        first = int(self.first[i])
        return first, int(self.first[i + 1]) - first

    @property
    def count(self) -> int:
        return len(self.last)

    def is_consistent(self, tf_dtype: np.dtype) -> bool:
        n = len(self.last)
        return (
            len(self.first) == len(self.columns) + 1
            and int(self.first[-1]) == n
            and len(self.offset) == n
            and len(self.frontier_tf) == len(self.frontier_length) == n * FRONTIER
            and self.frontier_tf.dtype == tf_dtype
            and self.last.dtype == self.offset.dtype == np.uint32
            and self.frontier_length.dtype == np.uint16
        )


def _long_lists(indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns of more than BLOCK postings and their block counts, 256k tokens at a time
    (no array of every list's size is made: a few megabytes at most)."""
    columns: list[np.ndarray] = []
    for start in range(0, max(len(indptr) - 1, 0), 1 << 18):
        bounds = np.asarray(indptr[start : start + (1 << 18) + 1], dtype=np.int64)
        columns.append(np.flatnonzero(np.diff(bounds) > BLOCK) + start)
    long = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
    sizes = np.asarray(indptr[long + 1], dtype=np.int64) - np.asarray(indptr[long], dtype=np.int64)
    return long, (sizes + BLOCK - 1) // BLOCK


def _slices(postings: Postings, columns: np.ndarray, per_column: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
    """(last, offset, frontier tf, frontier length) of the long lists, a slice of lists of
    about :data:`_SLICE_POSTINGS` postings at a time, in column order."""
    indptr, doc_offsets = postings.indptr, postings.doc_offsets
    tf_dtype = postings.tf.dtype
    lengths = np.ascontiguousarray(postings.lengths, dtype=np.int32)
    starts = np.asarray(indptr[columns], dtype=np.int64)
    first = 0
    while first < len(columns):
        stop = int(np.searchsorted(starts, starts[first] + _SLICE_POSTINGS, side="left"))
        stop = min(max(stop, first + 1), len(columns))
        cols = columns[first:stop]
        tf_from, tf_to = int(indptr[cols[0]]), int(indptr[cols[-1] + 1])
        byte_from, byte_to = int(doc_offsets[cols[0]]), int(doc_offsets[cols[-1] + 1])
        gaps = np.ascontiguousarray(postings.doc_gaps.read(byte_from, byte_to))
        counts = np.ascontiguousarray(postings.tf.read(tf_from, tf_to))
        list_bytes = np.asarray(doc_offsets[cols], dtype=np.int64) - byte_from
        list_tf = np.asarray(indptr[cols], dtype=np.int64) - tf_from
        sizes = np.asarray(indptr[cols + 1], dtype=np.int64) - np.asarray(indptr[cols], dtype=np.int64)
        n = int(per_column[first:stop].sum())
        last = np.empty(n, dtype=np.uint32)
        offset = np.empty(n, dtype=np.uint32)
        frontier_tf = np.empty(n * FRONTIER, dtype=tf_dtype)
        frontier_length = np.empty(n * FRONTIER, dtype=np.uint16)
        written = _bm25.build_blocks(
            gaps, counts, tf_dtype.itemsize, lengths, list_bytes, list_tf, sizes, BLOCK, FRONTIER,
            last, offset, frontier_tf, frontier_length,
        )  # fmt: skip
        if written != n:
            raise ValueError(f"{written} blocks computed, {n} expected")
        yield last, offset, frontier_tf, frontier_length
        first = stop


def compute_blocks(postings: Postings) -> Blocks | None:
    """The blocks of ``postings`` in memory (a delta's or a test's; a saved index's are written
    by :func:`write_blocks`); None without the extension."""
    if _bm25 is None:
        return None
    columns, per_column = _long_lists(postings.indptr)
    pieces = list(zip(*_slices(postings, columns, per_column), strict=True)) or [[]] * 4
    dtypes = (np.uint32, np.uint32, postings.tf.dtype, np.uint16)
    arrays = [np.concatenate(p) if len(p) else np.zeros(0, dtype=d) for p, d in zip(pieces, dtypes, strict=True)]
    first = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(per_column, out=first[1:])
    return Blocks(columns.astype(np.int32), first, *arrays)


def write_blocks(postings: Postings, directory: Path) -> Blocks | None:
    """Compute the blocks of ``postings`` and write them into ``directory``, a slice at a time;
    return them memory-mapped. None (nothing written) without the extension."""
    if _bm25 is None:
        log.warning("retrieval/local/_bm25.c is not compiled: the index is written without BM25 blocks")
        return None
    columns, per_column = _long_lists(postings.indptr)
    first = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(per_column, out=first[1:])
    n = int(first[-1])
    np.save(directory / "blocks_meta.npy", np.array(_META, dtype=np.int64))
    np.save(directory / "blocks_columns.npy", columns.astype(np.int32))
    np.save(directory / "blocks_first.npy", first)
    names = Blocks.FILES[3:]
    dtypes: list[np.dtype] = [
        np.dtype(np.uint32),
        np.dtype(np.uint32),
        np.dtype(postings.tf.dtype),
        np.dtype(np.uint16),
    ]
    shapes = (n, n, n * FRONTIER, n * FRONTIER)
    handles = [(directory / name).open("wb") for name in names]
    try:
        for handle, dtype, shape in zip(handles, dtypes, shapes, strict=True):
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (shape,)}
            np.lib.format.write_array_header_1_0(handle, header)
        for arrays in _slices(postings, columns, per_column):
            for handle, values in zip(handles, arrays, strict=True):
                values.tofile(handle)
    finally:
        for handle in handles:
            handle.close()
    return load_blocks(directory, postings.tf.dtype)


def load_blocks(directory: Path, tf_dtype: np.dtype) -> Blocks | None:
    """The blocks written beside the postings in ``directory``, memory-mapped (a question reads
    the entries of its tokens' blocks); None when there are none, or of another layout."""
    if not all((directory / name).is_file() for name in Blocks.FILES):
        return None
    try:
        if tuple(np.load(directory / Blocks.FILES[0]).tolist()) != _META:
            return None
        # The columns and where their blocks start are searched at every question: in memory.
        arrays = [
            np.load(directory / name, mmap_mode=None if i < 2 else "r") for i, name in enumerate(Blocks.FILES[1:])
        ]
        blocks = Blocks(*arrays)
    except (OSError, ValueError) as exc:
        log.warning("BM25 blocks in %s unreadable (%s): BM25 scores every posting", directory, exc)
        return None
    if not blocks.is_consistent(np.dtype(tf_dtype)):
        log.warning("BM25 blocks in %s disagree with the postings: BM25 scores every posting", directory)
        return None
    return blocks
