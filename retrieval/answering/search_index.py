"""The search index as answering reads it, whichever backend serves it.

:class:`SearchIndex` is one consistent version of the index: passage search (dense and
lexical), the sentences of a passage with their vectors, and the article each belongs to.
The local backend serves a whole loaded version (:class:`retrieval.local.index.LoadedIndex`);
the Milvus backend a small view of each question's candidates
(:class:`retrieval.milvus.index.QuestionView`). A third backend implements this protocol,
and :class:`retrieval.engine.Engine` around it (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from retrieval.answering.lexical_query import LexicalQuery
from retrieval.models import Article, Sentence


class VectorRows(Protocol):
    """Stored vectors by row, as float32: ``rows[i]`` or ``rows[[i, j, ...]]``."""

    def __getitem__(self, key: int | Sequence[int] | np.ndarray) -> np.ndarray: ...

    def __len__(self) -> int: ...


class DenseSearch(Protocol):
    """Nearest passages to a normalised query vector, by inner product."""

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, scores), best first; live passages only, and with ``allowed`` (a
        boolean per passage) only those it marks True."""


class LexicalScores(Protocol):
    """BM25 over the passages' Vietnamese tokens."""

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One score per passage row (0 for deleted passages)."""

    def search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, rows: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` best passages of ``query`` and their scores, exactly those of
        :func:`~retrieval.answering.lexical_query.exhaustive_top`, and
        the scores of ``rows`` (float32; 0 for deleted passages and where ``allowed`` is False)."""

    def idf(self, token: str) -> float: ...


class SearchIndex(Protocol):
    """One version of the index, as answering reads it (see the module docstring)."""

    @property
    def model(self) -> str:
        """The id of the model that embedded this version (``Embedder.model_id``)."""

    @property
    def dense(self) -> DenseSearch: ...

    @property
    def lexical(self) -> LexicalScores: ...

    @property
    def passage_vectors(self) -> VectorRows: ...

    @property
    def sentence_vectors(self) -> VectorRows: ...

    def sentence(self, row: int) -> Sentence: ...

    def article_of_sentence(self, row: int) -> Article: ...

    def passage_sentences(self, passage: int) -> range:
        """The sentence rows of passage ``passage``."""

    def article_of_passage(self, passage: int) -> Article: ...

    def article_id_of_passage(self, passage: int) -> str:
        """The id of passage ``passage``'s article, without reading the article."""

    def is_live_passage(self, passage: int) -> bool:
        """False for a passage of an article since replaced or deleted (never returned)."""

    def live_articles(self) -> list[Article]: ...
