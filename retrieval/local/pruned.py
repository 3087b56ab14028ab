"""BM25's best passages without scoring every posting: block-max MaxScore, compiled.

    index = PrunedLexicalIndex([postings])               # postings.blocks from the saved files
    ids, scores, of_rows = index.search(LexicalQuery(tokens), k=50, rows=[12, 40])

The search asks for the ``k`` best passages of a question and the scores of its dense
candidates (retrieval/answering/search.py). :meth:`PrunedLexicalIndex.search` answers both
exactly as :func:`~retrieval.answering.lexical_query.exhaustive_search` does (the same
passages, the same float32 scores to the bit) while decoding only
the blocks of the long lists that can still matter: document at a time, a passage is
scored only when the bounds of the blocks it falls in (retrieval/local/blocks.py) can lift
it above the k-th best score so far, and the lists whose whole bound cannot are read only at
the passages the others propose (Turtle and Flood's MaxScore, with Ding and Suel's block
maxima). The per-posting work is C (retrieval/local/_bm25.c). Without the extension, or for
an index written before the blocks, the search scores every posting (the same answer, slower).
A question whose k-th score is shared by a passage left out (copies of a passage; 3 questions
in 1,390 at 100,000 news passages) gets every passage's score from the lists already read, in
C, and ``np.argpartition`` picks among the tied ones, as the search always did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.answering.bm25 import bm25_idf
from retrieval.answering.lexical_query import LexicalQuery, best, exhaustive_search
from retrieval.local.blocks import BLOCK, FRONTIER, Blocks, compiled, compute_blocks
from retrieval.local.postings import LexicalIndex, Postings, _ArrayStream

log = logging.getLogger(__name__)

_warned: set[str] = set()


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        log.warning("BM25 scores every posting: %s", reason)


@dataclass
class Found:
    """A pruned search's answer and how much it read."""

    ids: np.ndarray  # int64 rows, best first (score descending, then row)
    scores: np.ndarray  # float32
    postings_read: int  # postings decoded
    postings_total: int  # postings in the question's lists
    tied: bool  # a passage left out has the k-th score: the exhaustive path decides which are in


@dataclass
class _List:
    gaps: np.ndarray
    tf: np.ndarray
    postings: int
    first_block: int
    blocks: int


class PrunedLexicalIndex(LexicalIndex):
    """:class:`LexicalIndex` with :meth:`search`, pruned when every part has its blocks."""

    def __init__(self, parts: Sequence[Postings], live: np.ndarray | None = None, prune: bool = True) -> None:
        super().__init__(parts, live)
        self.prune = prune
        self._dead = [None if alive is None else np.flatnonzero(~alive).astype(np.uint32) for alive in self._live_parts]
        self._blocks: list[Blocks | None] | None = None

    def _part_blocks(self) -> list[Blocks | None]:
        if self._blocks is None:
            found: list[Blocks | None] = []
            for part in self.parts:
                blocks = getattr(part, "blocks", None)
                if blocks is None and isinstance(part.doc_gaps, _ArrayStream):
                    blocks = part.blocks = compute_blocks(part)  # built in memory (a delta, a test)
                found.append(blocks)
            self._blocks = found
        return self._blocks

    def pruning(self) -> bool:
        """Whether :meth:`search` prunes (else it scores every posting, logging why once)."""
        if not self.prune:
            return False
        if compiled() is None:
            _warn_once("retrieval/local/_bm25.c is not compiled (reinstall with a C compiler to prune)")
            return False
        if any(blocks is None for blocks in self._part_blocks()):
            _warn_once("the index has no BM25 blocks (written before them): run `hoptac reindex` to prune")
            return False
        return True

    def search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, rows: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` best passages of ``query`` and their scores, and the scores of ``rows``:
        exactly :func:`~retrieval.answering.lexical_query.exhaustive_search`'s."""
        if not self.pruning() or k <= 0 or self.average_length <= 0:
            return exhaustive_search(self, query, k, allowed, rows)
        asked = np.asarray(rows, dtype=np.int64)
        found, of_rows, every = self._top(query, k, allowed, asked)
        if found.tied:  # copies of a passage at the k-th place: np.argpartition picks, as always
            scores = every()
            ids, top = best(np.arange(len(scores)), scores, k)
            return ids, top, scores[asked]
        return found.ids, found.scores, of_rows

    def top(self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None) -> Found:
        """The pruned top ``k`` with what it read (the extension and blocks are required). Ties at
        the k-th place go to the lower row here; :meth:`search` asks the exhaustive path then."""
        if not self.pruning():
            raise RuntimeError("pruned BM25 needs the compiled extension and the index's blocks")
        return self._top(query, k, allowed, np.zeros(0, dtype=np.int64))[0]

    def _top(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None, asked: np.ndarray
    ) -> tuple[Found, np.ndarray, Callable[[], np.ndarray]]:
        """The pruned top k, the scores of ``asked``, and a function computing every passage's
        score from the lists read (in C, with the exhaustive path's arithmetic)."""
        tokens = list(dict.fromkeys(t for group, _ in query.groups for t in group))
        unique = {token: i for i, token in enumerate(tokens)}
        positions = [(g, unique[t]) for g, (group, _) in enumerate(query.groups) for t in group]
        weights = [float(w) for _, w in query.groups]
        blocks = self._part_blocks()
        lists = [
            [self._list(part, part_blocks, t) for t in tokens]
            for part, part_blocks in zip(self.parts, blocks, strict=True)
        ]
        idf = [bm25_idf(self._frequency(lists, u), self.documents) for u in range(len(tokens))]
        order = np.unique(asked)
        if len(order) and (order[0] < 0 or order[-1] >= int(self._starts[-1])):
            raise IndexError("a row asked is out of range")
        specs = []
        eligibles = []
        for i, (part, part_blocks) in enumerate(zip(self.parts, blocks, strict=True)):
            assert part_blocks is not None
            eligible = self._live_parts[i]
            if allowed is not None:
                mask = allowed[self._starts[i] : self._starts[i + 1]]
                eligible = mask if eligible is None else eligible & mask
            eligibles.append(None if eligible is None else np.ascontiguousarray(eligible, dtype=np.uint8))
            lo, hi = np.searchsorted(order, (self._starts[i], self._starts[i + 1]))
            specs.append((
                int(self._starts[i]), self._norm(i),
                eligibles[i],
                part_blocks.last, part_blocks.offset, part_blocks.frontier_tf, part_blocks.frontier_length,
                part.tf.dtype.itemsize, BLOCK,
                [None if f is None else (f.gaps, f.tf, f.postings, idf[u], f.first_block, f.blocks)
                 for u, f in enumerate(lists[i])],
                (order[lo:hi] - self._starts[i]).astype(np.uint32),
            ))  # fmt: skip
        ids, scores, of_rows, read, total, _, tied = compiled().top_k(
            specs, positions, weights, k, self.average_length, FRONTIER
        )
        found = Found(np.frombuffer(ids, dtype=np.int64), np.frombuffer(scores, dtype=np.float32), read, total, tied)
        of_order = np.frombuffer(of_rows, dtype=np.float32)

        def every() -> np.ndarray:
            parts = [
                (self._norm(i), eligibles[i], part.tf.dtype.itemsize,
                 [None if f is None else (f.gaps, f.tf, f.postings, idf[u]) for u, f in enumerate(lists[i])])
                for i, part in enumerate(self.parts)
            ]  # fmt: skip
            return np.frombuffer(compiled().all_scores(parts, positions, weights), dtype=np.float32)

        of_asked = of_order[np.searchsorted(order, asked)] if len(asked) else np.zeros(0, dtype=np.float32)
        return found, of_asked, every

    def _list(self, part: Postings, blocks: Blocks | None, token: str) -> _List | None:
        column = part.vocabulary.get(token)
        if column is None or blocks is None:
            return None
        start, stop = int(part.indptr[column]), int(part.indptr[column + 1])
        if stop <= start:
            return None
        gaps = part.doc_gaps.read(int(part.doc_offsets[column]), int(part.doc_offsets[column + 1]))
        first, count = blocks.of(column)
        counts = np.ascontiguousarray(part.tf.read(start, stop))
        return _List(np.ascontiguousarray(gaps), counts, stop - start, first, count)

    def _norm(self, i: int) -> np.ndarray:
        norm = self._norms[i]
        if norm is None:
            norm = self._norms[i] = self.parts[i].length_norm(self.average_length)
        return norm

    def _counts(self, i: int, found: _List, docs: np.ndarray) -> np.ndarray:
        """The counts of ``docs`` (ascending uint32, part ``i``'s) in one of its lists."""
        blocks = self._part_blocks()[i]
        assert blocks is not None
        counts = compiled().lookup(
            found.gaps, found.tf, found.tf.dtype.itemsize, found.postings, blocks.last, blocks.offset,
            found.first_block, found.blocks, BLOCK, np.ascontiguousarray(docs, dtype=np.uint32),
        )  # fmt: skip
        return np.frombuffer(counts, dtype=np.uint32)

    def _frequency(self, lists: list[list[_List | None]], u: int) -> int:
        """How many live passages hold token ``u``: a part's count less its dead passages in
        the list (found by decoding only their blocks)."""
        frequency = 0
        for i, part_lists in enumerate(lists):
            found, dead = part_lists[u], self._dead[i]
            if found is None:
                continue
            frequency += found.postings
            if dead is not None and len(dead):
                frequency -= int(np.count_nonzero(self._counts(i, found, dead)))
        return frequency
