"""A BM25 question as the search asks it, and its best passages computed from every score.

    query = LexicalQuery(tokens, ((related_tokens, 0.5),))
    ids, scores = exhaustive_top(index.lexical, query, k=50)

The score of a passage is, in float32 as the search has always added them,

    bm25(tokens) + w1 * bm25(tokens_1) + ...

(each bm25 a float64 sum over its tokens in order, rounded to float32). The best ``k`` are
those of highest score, as ``np.argpartition`` picks them over every passage (its choice among
passages tied at the k-th place); only positive scores count.
A backend may compute them without scoring every passage (the local one prunes,
retrieval/local/pruned.py) but must return exactly these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class LexicalQuery:
    tokens: Sequence[str]
    extra: tuple[tuple[Sequence[str], float], ...] = ()  # more tokens with their weight

    @property
    def groups(self) -> list[tuple[Sequence[str], float]]:
        return [(self.tokens, 1.0), *self.extra]


class AllScores(Protocol):
    def scores(self, query_tokens: Sequence[str]) -> np.ndarray: ...


def combine(sums: Sequence[np.ndarray], query: LexicalQuery) -> np.ndarray:
    """The float32 scores of a query from each group's float32 BM25 (in group order)."""
    total = sums[0]
    for part, (_, weight) in zip(sums[1:], query.extra, strict=True):
        total = total + weight * part
    return total


def all_scores(lexical: AllScores, query: LexicalQuery) -> np.ndarray:
    """Every passage's score (see the module docstring), from the exhaustive BM25."""
    sums = [lexical.scores(query.tokens)]
    for tokens, _ in query.extra:
        if len(sums[0]) and len(tokens):
            sums.append(lexical.scores(tokens))
        else:
            sums.append(np.zeros_like(sums[0]))
    return combine(sums, query)


def best(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of (ids, scores) with a positive score, as the search has always taken
    them (``np.argpartition``: which of several passages tied at the k-th place are in is its
    choice), ordered by score descending, then id."""
    if not len(scores) or not scores.max() > 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=scores.dtype)
    top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    top = top[scores[top] > 0]
    order = np.lexsort((ids[top], -scores[top].astype(np.float64)))
    return ids[top][order].astype(np.int64), scores[top][order]


def exhaustive_top(
    lexical: AllScores, query: LexicalQuery, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` passages and their scores, from every passage's score; with ``allowed``
    (a boolean per passage) only among those it marks True."""
    ids, scores, _ = exhaustive_search(lexical, query, k, allowed)
    return ids, scores


def exhaustive_search(
    lexical: AllScores, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, rows: Sequence[int] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exhaustive_top` and the scores of ``rows`` (0 where ``allowed`` is False)."""
    scores = all_scores(lexical, query)
    if allowed is not None and scores.size:
        scores = np.where(allowed, scores, np.float32(0.0))
    ids, top = best(np.arange(len(scores)), scores, k)
    return ids, top, scores[np.asarray(rows, dtype=np.int64)] if scores.size else np.zeros(len(rows), np.float32)
