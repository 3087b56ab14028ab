"""Rows of a stored ``.npy`` array read by position (``os.pread``), and vectors saved and loaded.

A question reads a few hundred scattered rows: reading them by position keeps no more of
the files resident than the rows themselves (retrieval/local/positional_file.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.embedding.compact import PASSAGE_DTYPE, CompactVectors
from retrieval.local.positional_file import PositionalFile

#: Rows this close (in bytes) are read with the ones between them in one ``pread``: a
#: system call costs more than copying a page.
MAX_GAP_BYTES = 4096


#: Reads are gathered in batches of about this many bytes (no single read crosses an aligned
#: window of this size), so reading many scattered rows needs little memory beyond them.
MAX_READ_BYTES = 1 << 20


class RowFile:
    """The rows of a stored ``.npy`` array (C order), read by position: ``rows.read([i, j])``."""

    def __init__(self, array: np.memmap) -> None:
        """The rows of the file ``array`` (from ``np.load(..., mmap_mode="r")``) maps."""
        if not array.flags.c_contiguous or array.ndim == 0 or array.filename is None:
            raise ValueError("only whole C-order arrays of a file are read by row")
        self.dtype = array.dtype
        self.shape: tuple[int, ...] = array.shape
        self.row_bytes = int(array.dtype.itemsize * np.prod(array.shape[1:], dtype=np.int64))
        self._start = int(array.offset)
        self._file = PositionalFile(Path(array.filename))

    def __len__(self) -> int:
        return self.shape[0]

    def close(self) -> None:
        self._file.close()

    def read(self, rows: np.ndarray) -> np.ndarray:
        """``array[rows]`` (integer positions, negative ones from the end, in any order and
        repeated), read from the file: each run of nearby rows in one ``pread``."""
        rows = np.asarray(rows, dtype=np.int64)
        n = len(self)
        if rows.size and (int(rows.min()) < -n or int(rows.max()) >= n):
            raise IndexError(f"row out of range for {n} rows")
        wanted, where = np.unique(np.where(rows < 0, rows + n, rows), return_inverse=True)
        found = np.empty((len(wanted), self.row_bytes), dtype=np.uint8)
        if len(wanted) and self.row_bytes:
            self._read_sorted(wanted, found)
        return found.view(self.dtype).reshape(len(wanted), *self.shape[1:])[where.reshape(rows.shape)]

    def _read_sorted(self, wanted: np.ndarray, found: np.ndarray) -> None:
        """The bytes of the rows ``wanted`` (sorted, distinct) into ``found``, one row a line."""
        window = max(1, MAX_READ_BYTES // self.row_bytes)
        gap = MAX_GAP_BYTES // self.row_bytes
        # Spans: runs of rows read together, each inside one window.
        new_span = np.r_[True, (np.diff(wanted) - 1 > gap) | (np.diff(wanted // window) != 0)]
        firsts = np.flatnonzero(new_span)
        starts = wanted[firsts]
        lengths = wanted[np.r_[firsts[1:], len(wanted)] - 1] + 1 - starts
        span_of = np.cumsum(new_span) - 1  # of each wanted row
        batch_of_span = (np.cumsum(lengths) - lengths) // window  # about MAX_READ_BYTES a batch
        batch_bounds = np.flatnonzero(np.r_[True, np.diff(batch_of_span) != 0, True])
        offsets = (self._start + starts * self.row_bytes).tolist()
        sizes = (lengths * self.row_bytes).tolist()
        for first, end in itertools.pairwise(batch_bounds.tolist()):
            data = b"".join([self._file.read(offsets[i], sizes[i]) for i in range(first, end)])
            lines = np.frombuffer(data, dtype=np.uint8).reshape(-1, self.row_bytes)
            # Where each wanted row of these spans is in ``lines``.
            read_before = np.cumsum(lengths[first:end]) - lengths[first:end]
            rows = slice(int(firsts[first]), int(firsts[end]) if end < len(firsts) else len(wanted))
            spans = span_of[rows] - first
            found[rows] = lines[read_before[spans] + wanted[rows] - starts[first:end][spans]]


def load_vectors(folder: Path, name: str, mmap: bool) -> CompactVectors:
    """The block saved as ``name``: in memory, or (``mmap``) mapped and read by row."""
    mode: Any = "r" if mmap else None
    codes = np.load(folder / f"{name}.npy", mmap_mode=mode)
    scales = None
    if codes.dtype == np.int8:
        scales = np.load(folder / f"{name}_scales.npy", mmap_mode=mode)
    elif codes.dtype != PASSAGE_DTYPE:
        raise ValueError(f"{name}.npy holds {codes.dtype}, not float16 or int8")
    if not mmap:
        return CompactVectors(codes, scales)
    return CompactVectors(codes, scales, (RowFile(codes), None if scales is None else RowFile(scales)))
