"""The question checked, and hybrid passage search: dense and BM25 candidates, fused.

searcher = Searcher(analyzer)
ranked = searcher.passages(index, check_question(question), query_vector)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.answering.fusion import DEFAULT_DENSE_WEIGHT, FusionMethod, fuse
from retrieval.answering.lexical_query import LexicalQuery
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
        related = self.analyzer.related_place_tokens(question)
        words = LexicalQuery(
            self.analyzer.query_tokens(question), ((related, RELATED_PLACE_WEIGHT),) if related else ()
        )
        # Score every candidate on both sides exactly, so fusion never guesses a missing score.
        dense_rows = sorted(dense)
        top_ids, top_scores, of_dense = index.lexical.search(words, k, allowed, dense_rows)
        lexical = {int(i): float(s) for i, s in zip(top_ids, top_scores, strict=True)}
        for pid in lexical.keys() - dense.keys():
            dense[pid] = float(np.dot(index.passage_vectors[pid], query))
        for pid, score in zip(dense_rows, of_dense, strict=True):
            lexical.setdefault(pid, float(score))
        fused = fuse(dense, lexical, self.method, self.dense_weight)
        return [RankedPassage(pid, score, dense[pid], lexical.get(pid, 0.0)) for pid, score in fused]
