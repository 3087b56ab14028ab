"""The answer engine: the one object the CLI and the bot talk to.

    engine = AnswerEngine.open(settings)          # loads (or first builds) the index
    answer = engine.ask("cầu Đồng Việt ở đâu?")   # grounded, cited Answer
    engine.refresh()                              # picks up an index swapped by another process

All methods are thread-safe for readers: ``ask`` may run in worker threads while
``reindex``/``ingest`` build a new index beside the old one and swap it in at the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from hoptac.settings import Settings
from retrieval.answering import Searcher, check_question, compose_answer
from retrieval.background import Background
from retrieval.corpus import ArticleFormatError, paragraphs, read_corpus, save_article
from retrieval.embedding import Embedder
from retrieval.importers import import_path
from retrieval.index import (
    IndexBusyError,
    IndexError_,
    IndexMissingError,
    IndexStore,
    LoadedIndex,
    Progress,
    build_index,
    corpus_fingerprint,
)
from retrieval.lexical import Analyzer
from retrieval.models import Answer, Article
from retrieval.text import nfc

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


class CorpusError(RuntimeError):
    """The corpus folder holds a file that cannot be read; nothing was changed."""


class AnswerEngine:
    """Ask, ingest, reindex and inspect one corpus + index (see module docstring)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.analyzer = Analyzer()
        self.searcher = Searcher(self.analyzer)
        self.store = IndexStore(settings.index_root)
        self._embedder = embedder
        self._index: LoadedIndex | None = None
        self._background: Background | None = None
        self._build_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, progress: Progress | None = None) -> AnswerEngine:
        """Load the model and the current index, building the index first if there is none."""
        engine = cls(settings)
        engine.embedder(progress)
        try:
            engine._index = engine.store.load(expected_model=engine.embedder().model_id)
        except IndexMissingError:
            engine.reindex(progress)
        return engine

    # -- model and index -------------------------------------------------------------------

    def embedder(self, progress: Progress | None = None) -> Embedder:
        if self._embedder is None:

            def notify(message: str) -> None:
                if progress:
                    progress("model: " + message, 0, 0)

            self._embedder = Embedder.load(
                self.settings.embedding_model,
                self.settings.models_dir,
                self.settings.data_dir / "cache" / "embeddings.sqlite3",
                batch_size=self.settings.embedding_batch_size,
                notify=notify,
            )
        return self._embedder

    def background(self) -> Background:
        if self._background is None:
            self._background = Background.embed(self.embedder())
        return self._background

    @property
    def index(self) -> LoadedIndex:
        if self._index is None:
            self._index = self.store.load(expected_model=self.embedder().model_id)
        return self._index

    def refresh(self) -> bool:
        """Load the current index if another process swapped in a new one; True if it did."""
        current = self.store.current_version()
        if current is None or (self._index is not None and self._index.manifest.version == current):
            return False
        self._index = self.store.load(expected_model=self.embedder().model_id)
        return True

    # -- asking ----------------------------------------------------------------------------

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        """Answer with up to ``limit`` cited sentences, skipping the first ``offset``
        (offset>0 gives "more results" for the same question). Raises QuestionError."""
        started = time.perf_counter()
        text = check_question(nfc(question))
        index = self.index  # one consistent version for the whole question
        query = self.embedder().encode_query(text)
        ranked = self.searcher.passages(index, text, query)
        baseline = self.background().baseline(query)
        limit = limit or self.settings.answer_sentences
        answer = compose_answer(index, self.analyzer, text, query, ranked, baseline, limit, offset)
        elapsed = (time.perf_counter() - started) * 1000
        return replace(answer, question=nfc(question), elapsed_ms=elapsed)

    # -- changing the corpus ---------------------------------------------------------------

    def _read_corpus(self) -> list[Article]:
        folder = self.settings.corpus_dir
        if not folder.is_dir():
            raise CorpusError(f"the corpus folder {folder} does not exist (setting corpus_dir)")
        read = read_corpus(folder)
        if read.failures:
            path, reason = read.failures[0]
            more = f" (and {len(read.failures) - 1} more)" if len(read.failures) > 1 else ""
            raise CorpusError(f"{path}: {reason}{more}; fix or remove it, the current index is unchanged")
        if not read.articles:
            raise CorpusError(f"the corpus folder {folder} holds no articles: add some with `hoptac ingest PATH`")
        return read.articles

    def reindex(self, progress: Progress | None = None, wait: bool = True) -> IndexStatus:
        """Rebuild from the corpus folder beside the old index and swap it in atomically."""
        if not self._build_lock.acquire(blocking=wait):
            raise IndexBusyError("a reindex is already running")
        try:
            with self.store.writer_lock(wait=wait):
                return self._rebuild(self._read_corpus(), progress)
        finally:
            self._build_lock.release()

    def _rebuild(self, articles: list[Article], progress: Progress | None) -> IndexStatus:
        built = build_index(articles, self.embedder(progress), self.analyzer, progress=progress)
        self.store.save(built)
        self._index = built
        return self.status()

    def ingest(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Import files/folders into the corpus folder and update the index.

        Unchanged articles are a no-op; changed ones replace the old version (their old
        passages disappear with the rebuilt index); only new text is embedded."""
        report = IngestReport()
        imported: list[Article] = []
        for path in paths:
            result = import_path(Path(path))
            imported.extend(result.articles)
            report.failures.extend(IngestFailure(p, reason) for p, reason in result.failures)
        with self._build_lock, self.store.writer_lock():
            self.settings.corpus_dir.mkdir(parents=True, exist_ok=True)
            for done, article in enumerate(imported, start=1):
                try:
                    change = save_article(self.settings.corpus_dir, article)
                except ArticleFormatError as exc:
                    report.failures.append(IngestFailure(article.id, exc.reason))
                    continue
                report.changes[article.id] = change
                if change == "new":
                    report.new_articles.append(article)
                if progress:
                    progress("ingest", done, len(imported))
            articles = self._read_corpus()
            try:
                stale = self.store.read_manifest().corpus_fingerprint != corpus_fingerprint(articles)
            except IndexError_:
                stale = True  # no usable index yet
            if stale:
                self._rebuild(articles, progress)
        return report

    # -- reading ---------------------------------------------------------------------------

    def status(self) -> IndexStatus:
        manifest = self.index.manifest
        built = datetime.fromisoformat(manifest.built_at)
        return IndexStatus(
            articles=manifest.articles,
            passages=manifest.passages,
            sentences=manifest.sentences,
            model=manifest.model,
            dimension=manifest.dimension,
            built_at=manifest.built_at,
            age_seconds=(datetime.now(UTC) - built).total_seconds(),
            index_bytes=self.store.size_bytes(),
            index_kind=manifest.dense_kind,
            corpus_fingerprint=manifest.corpus_fingerprint,
            version=manifest.version,
        )

    def article(self, article_id: str) -> Article:
        index = self.index
        return index.articles[index.article_index[article_id]]

    def paragraph_around(self, article_id: str, start: int) -> str:
        """The whole paragraph of ``article_id`` that contains offset ``start``."""
        article = self.article(article_id)
        for paragraph in paragraphs(article.text):
            if paragraph.start <= start < paragraph.end:
                return article.text[paragraph.start : paragraph.end]
        raise KeyError(f"offset {start} is outside article {article_id}")

    def latest_articles(self, n: int = 5) -> list[Article]:
        """The ``n`` indexed articles with the newest publication dates."""
        oldest = datetime.min.replace(tzinfo=UTC)
        ordered = sorted(self.index.articles, key=lambda a: (a.published or oldest, a.id), reverse=True)
        return ordered[:n]
