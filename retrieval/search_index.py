"""The search index behind two small interfaces: what answering reads, and its lifecycle.

:class:`SearchIndex` is one consistent version of the index, as the answering code reads
it: passage search (dense and lexical), the sentences of a passage with their vectors, and
the article each belongs to. :class:`IndexBackend` keeps versions: it loads the current
one, saves a new one beside it and swaps it in, and lets one writer at a time change it.

Today's implementation is local: FAISS + bm25s segments in a folder
(:class:`retrieval.index.LoadedIndex` and :class:`retrieval.index.IndexStore`), chosen by
the application (``hoptac.wiring.open_engine``). Another engine (a search server) plugs in
by implementing both protocols in a module of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from retrieval.models import Article, Sentence
from retrieval.vectors import VectorRows

if TYPE_CHECKING:
    from retrieval.index import LoadedIndex, Manifest


class DenseSearch(Protocol):
    """Nearest passages to a normalised query vector, by inner product."""

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, scores), best first; live passages only, and with ``allowed`` (a
        boolean per passage) only those it marks True."""


class LexicalScores(Protocol):
    """BM25 over the passages' Vietnamese tokens."""

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One score per passage row (0 for deleted passages)."""

    def idf(self, token: str) -> float: ...


class SearchIndex(Protocol):
    """One version of the index, as answering reads it (see the module docstring)."""

    @property
    def manifest(self) -> Manifest:
        """What the version holds and which model built it."""

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

    def is_live_passage(self, passage: int) -> bool:
        """False for a passage of an article since replaced or deleted (never returned)."""

    def live_articles(self) -> list[Article]: ...


class IndexBackend(Protocol):
    """Where index versions are kept: load the current one, save and swap in a new one."""

    root: Path  # the backend's own folder (the engine keeps its corpus state there)

    def current_version(self) -> str | None: ...

    def writer_lock(self, wait: bool = True) -> AbstractContextManager[None]:
        """One writer at a time, across processes."""

    def load(self, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
        """The current version; raises IndexMissingError, IndexCorruptError or IndexError_."""

    def save(self, index: LoadedIndex, previous: LoadedIndex | None = None) -> Path:
        """Write ``index`` beside the current version and make it current, atomically."""

    def size_bytes(self) -> int: ...


class PreparedArticles(Protocol):
    """Articles segmented and embedded, ready to be written to a shared search engine."""

    @property
    def article_ids(self) -> list[str]: ...


Prepared = TypeVar("Prepared", bound=PreparedArticles)


class ArticleIndexer(Protocol[Prepared]):
    """A shared search engine (Milvus) kept up to date article by article.

    Embedding (:meth:`prepare`) is the slow part and may run in any number of workers at
    once; writing (:meth:`put`, :meth:`remove`) should come from one writer at a time (the
    caller serialises it, e.g. with a PostgreSQL advisory lock). Both writes are idempotent:
    putting the same article twice leaves one copy, and a replaced or removed article's old
    passages are gone before its new ones can be found (never a stale passage)."""

    def indexed(self) -> dict[str, str]:
        """Every searchable article: id -> hex digest of its content (:func:`article_digest`)."""

    def prepare(self, articles: Sequence[Article]) -> Prepared:
        """Segment and embed ``articles`` (no write)."""

    def put(self, prepared: Prepared) -> None:
        """Make the prepared articles searchable, replacing any earlier copy of each."""

    def remove(self, article_ids: Sequence[str]) -> None:
        """Make these articles unsearchable (unknown ids are ignored)."""
