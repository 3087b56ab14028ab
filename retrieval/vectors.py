"""Stored vectors, kept compact: passages as float16, sentences as int8 with one scale each.

A question reads the vectors of a few hundred candidate passages and of the sentences of its
best few passages, never all of them, so the files are memory-mapped and only the rows read
are decoded, to float32. What each form costs (measured on the model's own unit vectors,
docs/benchmarks.md): float16 changes a cosine by at most 7e-5, int8 with a per-row scale by
at most 2e-3; neither moved ``hoptac eval`` (docs/quality.md).

    rows = VectorBlocks([CompactVectors.of_sentences(vectors)])
    rows[[3, 7]]  # float32, shape (2, dimension)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class VectorRows(Protocol):
    """Stored vectors by row, as float32: ``rows[i]`` or ``rows[[i, j, ...]]``."""

    def __getitem__(self, key: int | Sequence[int] | np.ndarray) -> np.ndarray: ...

    def __len__(self) -> int: ...


PASSAGE_DTYPE = np.float16
#: int8 codes are ``round(v / scale)`` with ``scale = max|v| / 127`` per row.
INT8_LIMIT = 127


def quantize_int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, scales): int8 codes of each row and the float32 scale that decodes them."""
    vectors = np.asarray(vectors, dtype=np.float32)
    peaks = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, dtype=np.float32)
    scales = np.where(peaks > 0, peaks / INT8_LIMIT, 1.0).astype(np.float32)
    codes = np.clip(np.rint(vectors / scales[:, None]), -INT8_LIMIT, INT8_LIMIT).astype(np.int8)
    return codes, scales


@dataclass(frozen=True)
class CompactVectors:
    """One block of stored rows: ``codes`` (float16, or int8 with ``scales``), as written to disk."""

    codes: np.ndarray
    scales: np.ndarray | None = None

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
        """The float32 vectors of ``rows``."""
        out = np.asarray(self.codes[rows], dtype=np.float32)
        if self.scales is not None:
            out *= np.asarray(self.scales[rows], dtype=np.float32)[:, None]
        return out

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

    @classmethod
    def load(cls, folder: Path, name: str, mmap: bool) -> CompactVectors:
        mode: Any = "r" if mmap else None
        codes = np.load(folder / f"{name}.npy", mmap_mode=mode)
        if codes.dtype == np.int8:
            return cls(codes, np.load(folder / f"{name}_scales.npy", mmap_mode=mode))
        if codes.dtype != PASSAGE_DTYPE:
            raise ValueError(f"{name}.npy holds {codes.dtype}, not float16 or int8")
        return cls(codes)


class VectorBlocks:
    """Several blocks of rows read as one, decoded to float32 on reading: ``blocks[i]`` is one
    row, ``blocks[[i, j, ...]]`` an array of rows (memory-mapped blocks stay on disk)."""

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
            return self.blocks[block].decode(slice(local, local + 1))[0]
        rows = np.asarray(key, dtype=np.int64)
        if len(self.blocks) == 1:
            return self.blocks[0].decode(rows)
        which = np.searchsorted(self._ends, rows, side="right")
        out = np.empty((len(rows), self._dimension), dtype=np.float32)
        for block in np.unique(which):
            mask = which == block
            out[mask] = self.blocks[block].decode(rows[mask] - self._starts[block])
        return out
