"""The question checked, and hybrid passage search: dense and BM25 candidates, fused.

searcher = Searcher(analyzer)
ranked = searcher.passages(index, check_question(question), query_vector)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.answering.fusion import DEFAULT_DENSE_WEIGHT, FusionMethod, fuse
from retrieval.answering.search_index import SearchIndex
from retrieval.engine import QuestionError
from retrieval.vietnamese.analyzer import Analyzer

MAX_QUESTION_CHARS = 1000


#: How many passages each retriever proposes before fusion.
CANDIDATES = 50


#: BM25 weight of the place names related to the question's (a 2025 province's predecessors,
#: a merged province's successor) relative to the question's own words: exact names still win.
RELATED_PLACE_WEIGHT = 0.5


_MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,200}>")


def check_question(question: str) -> str:
    """The text to search for: whitespace collapsed and pasted HTML tags dropped (the
    question itself is echoed verbatim). Raises QuestionError if nothing is left."""
    text = " ".join(_MARKUP.sub(" ", question).split())
    if not text:
        raise QuestionError("the question is empty")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words to search for")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text)} characters long; ask in at most {MAX_QUESTION_CHARS}")
    return text


@dataclass(frozen=True)
class RankedPassage:
    passage: int
    fused: float
    dense: float  # cosine with the query
    lexical: float  # BM25


class Searcher:
    """Hybrid passage search over one :class:`~retrieval.answering.search_index.SearchIndex`."""

    def __init__(
        self,
        analyzer: Analyzer,
        method: FusionMethod = FusionMethod.WEIGHTED,
        dense_weight: float = DEFAULT_DENSE_WEIGHT,
    ) -> None:
        self.analyzer = analyzer
        self.method = method
        self.dense_weight = dense_weight

    def passages(
        self,
        index: SearchIndex,
        question: str,
        query: np.ndarray,
        k: int = CANDIDATES,
        allowed: np.ndarray | None = None,
    ) -> list[RankedPassage]:
        """The fused ranking of the best ``k`` passages of each retriever; with ``allowed`` (a
        boolean per passage) only among the passages it marks True."""
        dense_ids, dense_scores = index.dense.search(query, k, allowed)
        dense = {int(i): float(s) for i, s in zip(dense_ids, dense_scores, strict=True)}
        bm25_all = index.lexical.scores(self.analyzer.query_tokens(question))
        related = self.analyzer.related_place_tokens(question)
        if related and bm25_all.size:
            bm25_all = bm25_all + RELATED_PLACE_WEIGHT * index.lexical.scores(related)
        if allowed is not None and bm25_all.size:
            bm25_all = np.where(allowed, bm25_all, 0.0)
        lexical: dict[int, float] = {}
        if bm25_all.size and bm25_all.max() > 0:
            top = np.argpartition(-bm25_all, min(k, len(bm25_all) - 1))[:k]
            lexical = {int(i): float(bm25_all[i]) for i in top if bm25_all[i] > 0}
        # Score every candidate on both sides exactly, so fusion never guesses a missing score.
        for pid in lexical.keys() - dense.keys():
            dense[pid] = float(np.dot(index.passage_vectors[pid], query))
        for pid in dense.keys() - lexical.keys():
            lexical[pid] = float(bm25_all[pid]) if bm25_all.size else 0.0
        fused = fuse(dense, lexical, self.method, self.dense_weight)
        return [RankedPassage(pid, score, dense[pid], lexical.get(pid, 0.0)) for pid, score in fused]
