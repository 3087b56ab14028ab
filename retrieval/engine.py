"""What every engine shares: the calls the CLI and the bot make, and what they return.

An engine is chosen once, from the settings (``hoptac.wiring.open_engine``): the local one
(:class:`retrieval.local.engine.LocalEngine`, FAISS + BM25 postings under ``data_dir``) or
the Milvus one (:class:`retrieval.milvus.engine.MilvusEngine`); the application may wrap
either (the cluster's ``DatabaseEngine`` keeps the articles in PostgreSQL). Everything above
the engine speaks to it only through :class:`Engine` and the types of this module.

    engine: Engine = open_engine(settings)
    answer = engine.ask("cầu Đồng Việt ở đâu?")
    report = engine.ingest([Path("new.md")])      # IngestReport: new / updated / unchanged
    status = engine.status(verify=True)           # IndexStatus, the checksums read in full

A shared search engine that several workers fill article by article implements
:class:`ArticleIndexer` (Milvus does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from retrieval.models import Answer, Article

#: Progress callback: (stage, done, total). Stages: "embed", "index", "ingest" (files saved),
#: "import: <path>" (after each path an ingest was given), and "model: <message>" for one-off
#: messages while the model is built.
Progress = Callable[[str, int, int], None]


# -- errors: ``str()`` of each is one line that names the fixing command ---------------------


class IndexError_(RuntimeError):
    """Base for index problems; ``str()`` is one line that names the fixing command."""


class IndexMissingError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    pass


class IndexBusyError(IndexError_):
    pass


class IndexWriteError(IndexError_):
    """A new index version could not be written (no space left, a file-size limit): nothing
    half-written was kept and the previous version is still served."""


# -- what engines return -----------------------------------------------------------------------


ArticleChange = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    passages: int
    sentences: int
    model: str
    dimension: int
    built_at: str  # ISO 8601
    age_seconds: float
    index_bytes: int
    index_kind: str
    corpus_fingerprint: str
    version: str
    #: The checksums of the index files: "verified", "checking" (large files, in the
    #: background after loading) or what is wrong, with the fixing command.
    integrity: str = "verified"

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "passages": self.passages,
            "sentences": self.sentences,
            "model": self.model,
            "dimension": self.dimension,
            "built_at": self.built_at,
            "age_seconds": round(self.age_seconds, 1),
            "index_bytes": self.index_bytes,
            "index_kind": self.index_kind,
            "corpus_fingerprint": self.corpus_fingerprint,
            "version": self.version,
            "integrity": self.integrity,
        }


@dataclass(frozen=True)
class IngestFailure:
    path: str
    reason: str


@dataclass
class IngestReport:
    changes: dict[str, ArticleChange] = field(default_factory=dict)  # article id -> change
    failures: list[IngestFailure] = field(default_factory=list)
    new_articles: list[Article] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class QuestionError(ValueError):
    """The question cannot be asked (empty, no words, or too long); the message is for the user."""


class CorpusError(RuntimeError):
    """The corpus folder holds a file that cannot be read; nothing was changed."""


class Engine(Protocol):
    """The calls the CLI and the bot make to an engine, whichever backend serves it.

    Readers are thread-safe: ``ask`` may run in worker threads while ``reindex`` or
    ``ingest`` builds the next version beside the served one and swaps it in at the end."""

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        """The grounded answer: at most ``limit`` quotes, from the ``offset``-th on (the
        bot's "more results"). Raises ``QuestionError`` for a question it cannot ask."""

    def refresh(self) -> bool:
        """Pick up a version another process swapped in; True if it changed."""

    def reindex(self, progress: Progress | None = None) -> IndexStatus:
        """Rebuild from every article and swap the result in atomically."""

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        """Take the articles in ``paths`` (files or folders) into the corpus and make them
        searchable. Only those are compared with the index, unless ``whole_folder`` (or no
        ``paths``): then also what was added, changed or deleted in the corpus folder by hand."""

    def status(self, verify: bool = False) -> IndexStatus:
        """What is served; with ``verify``, after every file's checksum has been read
        (the local index checks its large files in the background after loading)."""

    def paragraph_around(self, article_id: str, start: int) -> str:
        """The whole paragraph of the article that holds offset ``start``."""

    def latest_articles(self, n: int = 5) -> list[Article]:
        """The ``n`` newest searchable articles, newest first."""

    def article(self, article_id: str) -> Article:
        """One searchable article, text included; KeyError for an unknown id."""


# -- a shared search engine, filled article by article ----------------------------------------


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
