"""Vectors kept compact: passages as float16, sentences as int8 with one scale each.

A question reads the vectors of a few hundred candidate passages and of the sentences of its
best few passages, never all of them, so only the rows read are decoded, to float32. A
loaded local index reads those rows from its files by position
(:class:`retrieval.local.row_file.RowFile`, ``os.pread``); reading every row (an exact
scan, a build) goes through a memory map of the file. What each form costs (measured on the model's own unit vectors,
docs/benchmarks.md): float16 changes a cosine by at most 7e-5, int8 with a per-row scale by
at most 2e-3; neither moved ``hoptac eval`` (docs/quality.md).

    rows = VectorBlocks([CompactVectors.of_sentences(vectors)])
    rows[[3, 7]]  # float32, shape (2, dimension)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class RowReader(Protocol):
    """Chosen rows of a stored array, read without loading the rest (the local backend's
    :class:`retrieval.local.row_file.RowFile`)."""

    def read(self, rows: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


PASSAGE_DTYPE = np.float16


#: int8 codes are ``round(v / scale)`` with ``scale = max|v| / 127`` per row.
INT8_LIMIT = 127


#: Rows quantised at a time: the float32 temporaries of quantising every sentence of a
#: million passages at once took three times 4.3 GB during a build.
QUANTISE_ROWS = 1 << 16


def quantize_int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, scales): int8 codes of each row and the float32 scale that decodes them,
    computed :data:`QUANTISE_ROWS` rows at a time."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        vectors = vectors.reshape(len(vectors), -1)
    codes = np.empty(vectors.shape, dtype=np.int8)
    scales = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), QUANTISE_ROWS):
        block = np.asarray(vectors[start : start + QUANTISE_ROWS], dtype=np.float32)
        peaks = np.abs(block).max(axis=1) if block.shape[1] else np.zeros(len(block), dtype=np.float32)
        block_scales = np.where(peaks > 0, peaks / INT8_LIMIT, 1.0).astype(np.float32)
        codes[start : start + len(block)] = np.clip(np.rint(block / block_scales[:, None]), -INT8_LIMIT, INT8_LIMIT)
        scales[start : start + len(block)] = block_scales
    return codes, scales


@dataclass(frozen=True)
class CompactVectors:
    """One block of stored rows: ``codes`` (float16, or int8 with ``scales``), as written to
    disk. Loaded with ``mmap``, ``codes`` and ``scales`` map the files, and ``files`` reads
    chosen rows of them by position (every row is read through the map)."""

    codes: np.ndarray
    scales: np.ndarray | None = None
    files: tuple[RowReader, RowReader | None] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of_passages(cls, vectors: np.ndarray) -> CompactVectors:
        return cls(np.asarray(vectors, dtype=np.float32).astype(PASSAGE_DTYPE))

    @classmethod
    def of_sentences(cls, vectors: np.ndarray) -> CompactVectors:
        codes, scales = quantize_int8(vectors)
        return cls(codes, scales)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def dimension(self) -> int:
        return int(self.codes.shape[1]) if self.codes.ndim == 2 else 0

    def decode(self, rows: np.ndarray | slice) -> np.ndarray:
        """The float32 vectors of ``rows`` (a slice, or integer positions: read from the files
        when loaded with ``mmap``)."""
        scales: np.ndarray | None
        if self.files is None or isinstance(rows, slice):
            codes = self.codes[rows]
            scales = None if self.scales is None else self.scales[rows]
        else:
            codes_file, scales_file = self.files
            codes = codes_file.read(rows)
            scales = None if scales_file is None else scales_file.read(rows)
        out = np.asarray(codes, dtype=np.float32)
        if scales is not None:
            out *= np.asarray(scales, dtype=np.float32)[:, None]
        return out

    def close(self) -> None:
        """Close the files rows are read from, if any (the memory maps stay until collected)."""
        for rows in self.files or ():
            if rows is not None:
                rows.close()

    def is_consistent(self, rows: int, dimension: int) -> bool:
        return (
            self.codes.shape == (rows, dimension)
            and (self.scales is None) == (self.codes.dtype == PASSAGE_DTYPE)
            and (self.scales is None or self.scales.shape == (rows,))
        )

    # -- files ------------------------------------------------------------------------------

    def save(self, folder: Path, name: str) -> None:
        """``<name>.npy`` and, for int8 rows, ``<name>_scales.npy``."""
        np.save(folder / f"{name}.npy", np.ascontiguousarray(self.codes))
        if self.scales is not None:
            np.save(folder / f"{name}_scales.npy", np.ascontiguousarray(self.scales))


class VectorBlocks:
    """Several blocks of rows read as one, decoded to float32 on reading: ``blocks[i]`` is one
    row, ``blocks[[i, j, ...]]`` an array of rows (a loaded index's rows are read from its
    files, only those asked for)."""

    def __init__(self, blocks: Sequence[CompactVectors]) -> None:
        kept = [b for b in blocks if len(b)]
        self.blocks = kept or list(blocks[:1])
        sizes = np.array([len(b) for b in self.blocks], dtype=np.int64)
        self._ends = np.cumsum(sizes, dtype=np.int64)
        self._starts = self._ends - sizes
        self._dimension = self.blocks[0].dimension if self.blocks else 0

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), self._dimension

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every row, decoded (a full copy in memory: for measurements, not for answering)."""
        whole = np.vstack([b.decode(slice(None)) for b in self.blocks]) if self.blocks else np.zeros((0, 0))
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __getitem__(self, key: int | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(key, int | np.integer):
            row = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= row < len(self):
                raise IndexError(f"row {key} out of range")
            block = int(np.searchsorted(self._ends, row, side="right"))
            local = row - int(self._starts[block])
            return self.blocks[block].decode(np.array([local], dtype=np.int64))[0]
        rows = np.asarray(key, dtype=np.int64)
        if len(self.blocks) == 1:
            return self.blocks[0].decode(rows)
        which = np.searchsorted(self._ends, rows, side="right")
        out = np.empty((len(rows), self._dimension), dtype=np.float32)
        for block in np.unique(which):
            mask = which == block
            out[mask] = self.blocks[block].decode(rows[mask] - self._starts[block])
        return out
