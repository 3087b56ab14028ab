"""Dense retrieval: normalised embeddings in FAISS, searched by inner product (= cosine).

The index type follows corpus size: an exact scan up to :data:`HNSW_THRESHOLD` vectors,
where it still takes a few milliseconds, and HNSW above it. Both keep their vectors compact:
the exact scan reads float16 codes (``IndexScalarQuantizer``, fp16: half the memory of
float32 and faster, since the scan is bound by memory), HNSW keeps 8-bit codes
(``IndexHNSWSQ``) and finds :data:`RERANK_FACTOR` times the candidates asked for, which are
scored again with the stored float16 passage vectors (``rerank``): the scores returned are
those, not the 8-bit ones. The file is memory-mapped (``IO_FLAG_MMAP_IFC``), so the codes
stay in the page cache; only the HNSW graph is read into memory.

After an incremental ingest, :class:`LiveDense` searches the base index (FAISS, skipping
superseded passages with an ID selector) and the few delta vectors added since (exactly,
with numpy) as one row space.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.answering.search_index import VectorRows
from retrieval.embedding.compact import CompactVectors, VectorBlocks

#: Below this many passages exact search is fast enough (about 10 ms at 200k x 384 on 2 cores).
HNSW_THRESHOLD = 200_000
HNSW_NEIGHBOURS = 32
#: Measured on 52,577 real news passage vectors (M 32, efConstruction 80), recall@10 against
#: exact search: efSearch 128 -> 0.941, 256 -> 0.975 (0.25 ms a query), 512 -> 0.990. On the
#: million-passage benchmark index (8-bit codes, re-scored; 97% random vectors, HNSW's worst
#: case): 256 -> 0.940 (1.0 ms), 512 -> 0.962 (1.4 ms), 768 -> 0.966 (3.0 ms); re-scoring 4 or
#: 8 times ``k`` instead of 2 adds nothing there: the graph walk's candidates are the limit.
HNSW_EF_SEARCH = 512
#: HNSW over 8-bit codes returns this many times ``k`` candidates for re-scoring: on 32,813 real
#: passage vectors, recall@10 against exact float32 search 0.984 with 1x, 0.996 with 2x.
RERANK_FACTOR = 2
#: A filtered HNSW search (a period's passages) scores the selected passages exactly when
#: they are this few: a graph walk that may pass only a small share of nodes can come back
#: short, and reading this many stored vectors costs a few milliseconds.
EXACT_FILTER_MAX = 20_000


#: Rows decoded to float32 and added at a time by :meth:`DenseIndex.build_from`.
BUILD_ROWS = 65_536


def _empty_hnsw(dim: int) -> faiss.Index:
    """HNSW over 8-bit codes (a range per dimension), untrained and empty."""
    eight_bit: Any = faiss.ScalarQuantizer.QT_8bit  # an int; the stubs say otherwise
    index = faiss.IndexHNSWSQ(dim, eight_bit, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    return index


class DenseIndexKind(enum.StrEnum):
    AUTO = "auto"
    FLAT = "flat"
    HNSW = "hnsw"


def choose_kind(count: int, requested: DenseIndexKind = DenseIndexKind.AUTO) -> DenseIndexKind:
    if requested != DenseIndexKind.AUTO:
        return requested
    return DenseIndexKind.HNSW if count > HNSW_THRESHOLD else DenseIndexKind.FLAT


class DenseIndex:
    """Inner-product search over L2-normalised vectors; row i is passage i. With ``rerank``
    (the stored vectors, row for row) HNSW candidates are scored again with them."""

    def __init__(self, index: faiss.Index, kind: DenseIndexKind, rerank: VectorRows | None = None) -> None:
        self._index = index
        self.kind = kind
        self.rerank = rerank
        if kind == DenseIndexKind.HNSW:
            faiss.ParameterSpace().set_index_parameter(index, "efSearch", HNSW_EF_SEARCH)

    @classmethod
    def build(
        cls, vectors: np.ndarray, kind: DenseIndexKind = DenseIndexKind.AUTO, rerank: VectorRows | None = None
    ) -> DenseIndex:
        """The index of ``vectors``; ``rerank`` defaults to ``vectors`` themselves."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        chosen = choose_kind(len(vectors), kind)
        dim = vectors.shape[1]
        index: faiss.Index
        if chosen == DenseIndexKind.HNSW:
            index = _empty_hnsw(dim)
        else:
            index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            index.train(vectors)
            index.add(vectors)
        return cls(index, chosen, vectors if rerank is None else rerank)

    @classmethod
    def build_from(cls, stored: CompactVectors, kind: DenseIndexKind = DenseIndexKind.AUTO) -> DenseIndex:
        """The index of ``stored`` (the passages' float16 rows), decoded and added
        :data:`BUILD_ROWS` rows at a time, so no float32 copy of every row is made (1.5 GB
        at a million passages). The 8-bit codes are those of :meth:`build` of all the rows
        decoded: the quantiser is trained on each dimension's minimum and maximum over every
        row, which is all its training keeps."""
        count, dim = len(stored), stored.dimension
        chosen = choose_kind(count, kind)
        if chosen != DenseIndexKind.HNSW or count == 0:
            return cls.build(stored.decode(slice(None)), chosen)
        starts = range(0, count, BUILD_ROWS)
        lowest = np.full(dim, np.inf, dtype=np.float32)
        highest = np.full(dim, -np.inf, dtype=np.float32)
        for start in starts:
            block = stored.decode(slice(start, start + BUILD_ROWS))
            np.minimum(lowest, block.min(axis=0), out=lowest)
            np.maximum(highest, block.max(axis=0), out=highest)
        index = _empty_hnsw(dim)
        index.train(np.stack([lowest, highest]))
        for start in starts:
            index.add(np.ascontiguousarray(stored.decode(slice(start, start + BUILD_ROWS)), dtype=np.float32))
        return cls(index, chosen, VectorBlocks([stored]))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: DenseIndexKind, rerank: VectorRows | None = None) -> DenseIndex:
        """The index in ``path``, its codes memory-mapped."""
        return cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC), kind, rerank)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(self, query: np.ndarray, k: int, live: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine scores) of the ``k`` nearest passages, best first; with ``live`` (a
        boolean per passage) only among the passages it marks True."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rescored = self.kind == DenseIndexKind.HNSW and self.rerank is not None
        wanted = min(k * RERANK_FACTOR, self.size) if rescored else k
        x = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if live is None or bool(live.all()):
            scores, ids = self._index.search(x, wanted)
        elif rescored and self.rerank is not None and int(np.count_nonzero(live)) <= EXACT_FILTER_MAX:
            return self._exact(x[0], np.flatnonzero(live), k)
        else:
            bitmap = np.packbits(np.asarray(live, dtype=bool), bitorder="little")  # FAISS reads bit i of id i
            wrapped: Any = faiss  # the Python wrappers take numpy arrays and keywords the stubs do not know
            selector = wrapped.IDSelectorBitmap(bitmap)
            if self.kind == DenseIndexKind.HNSW:
                params = wrapped.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
            else:
                params = wrapped.SearchParameters(sel=selector)
            scores, ids = self._index.search(x, wanted, params=params)
        keep = ids[0] >= 0
        found, found_scores = ids[0][keep].astype(np.int64), scores[0][keep]
        if rescored and self.rerank is not None and len(found):
            found_scores = self.rerank[found] @ x[0]
            order = np.lexsort((found, -found_scores))[:k]
            found, found_scores = found[order], found_scores[order]
        return found, found_scores.astype(np.float32)

    def _exact(self, query: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best of ``rows``, scored with the stored vectors."""
        assert self.rerank is not None
        scores = np.asarray(self.rerank[rows], dtype=np.float32) @ query
        order = np.lexsort((rows, -scores))[:k]
        return rows[order].astype(np.int64), scores[order].astype(np.float32)


class LiveDense:
    """The base :class:`DenseIndex` plus delta vectors (blocks of rows numbered after the
    base's), searched as one index; passages that ``live`` marks False are never returned."""

    def __init__(self, base: DenseIndex, deltas: Sequence[np.ndarray] = (), live: np.ndarray | None = None) -> None:
        self.base = base
        self.deltas = [d for d in deltas if len(d)]
        self.kind = base.kind
        self._live = live  # None: all live

    @property
    def size(self) -> int:
        return self.base.size + sum(len(d) for d in self.deltas)

    @property
    def dimension(self) -> int:
        return self.base.dimension

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine scores) of the ``k`` nearest live passages, best first; with ``allowed``
        (a boolean per passage, such as a question's period) only among those it marks True:
        through the ANN index with a selector, or exactly when they are few."""
        live = self._live if allowed is None else (allowed if self._live is None else self._live & allowed)
        base_live = None if live is None else live[: self.base.size]
        ids, scores = self.base.search(query, k, base_live)
        if not self.deltas:
            return ids, scores
        x = np.asarray(query, dtype=np.float32)
        all_ids, all_scores, start = [ids.astype(np.int64)], [scores.astype(np.float32)], self.base.size
        for block in self.deltas:
            block_scores = np.asarray(block, dtype=np.float32) @ x
            block_ids = np.arange(start, start + len(block), dtype=np.int64)
            if live is not None:
                alive = live[start : start + len(block)]
                block_ids, block_scores = block_ids[alive], block_scores[alive]
            all_ids.append(block_ids)
            all_scores.append(block_scores)
            start += len(block)
        merged_ids, merged_scores = np.concatenate(all_ids), np.concatenate(all_scores)
        order = np.lexsort((merged_ids, -merged_scores))[:k]
        return merged_ids[order], merged_scores[order]
