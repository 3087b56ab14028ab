"""The engine of a deployment whose articles live in PostgreSQL (``HOPTAC_DATABASE_URL``).

    engine = DatabaseEngine(inner, db, "bot-1")     # inner: MilvusEngine or LocalEngine; bot-1: the replica
    engine.ingest([Path("new/")])                   # stored in PostgreSQL, then made searchable

Answering is the wrapped engine's. Changing the corpus goes through PostgreSQL, the system of
record: ``ingest`` (the bot's uploads, feeds and watched folder, like ``hoptac ingest``) stores
the articles with their ingest jobs, then works the queue like a worker until they are
searchable (other workers only speed it up); ``reindex`` rebuilds the search index from
PostgreSQL's articles. The corpus folder is then an import source, not the source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest_service.db_ingest import store_articles, worker_name
from ingest_service.worker import IngestWorker, LocalIndexTarget, SearchEngineTarget, Target, sync_corpus_folder
from retrieval.engine import IndexStatus, IngestFailure, IngestReport, Progress
from retrieval.local.engine import LocalEngine
from retrieval.milvus.engine import MilvusEngine
from retrieval.models import Answer, Article
from storage.postgres.articles import ArticleStore
from storage.postgres.database import Database
from storage.postgres.index_generation import set_live_generation
from storage.postgres.ingest_jobs import IngestQueue


def database_articles(db: Database) -> list[Article]:
    """PostgreSQL's live articles, the source of a full rebuild."""
    return [article for chunk in ArticleStore(db).live_chunks() for article in chunk]


class DatabaseEngine:
    """Answers with ``inner``; changes the corpus through PostgreSQL (module docstring)."""

    def __init__(self, inner: MilvusEngine | LocalEngine, db: Database, replica: str) -> None:
        """``replica``: this process's replica name, which the names of its ingest workers start with."""
        self.inner = inner
        self.db = db
        self.replica = replica

    # -- answering: the wrapped engine's ---------------------------------------------------

    @property
    def config(self) -> Any:
        return self.inner.config

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        return self.inner.ask(question, limit, offset)

    def refresh(self) -> bool:
        return self.inner.refresh()

    def status(self, verify: bool = False) -> IndexStatus:
        return self.inner.status(verify)

    def paragraph_around(self, article_id: str, start: int) -> str:
        return self.inner.paragraph_around(article_id, start)

    def latest_articles(self, n: int = 5) -> list[Article]:
        return self.inner.latest_articles(n)

    def article(self, article_id: str) -> Article:
        return self.inner.article(article_id)

    def embedder(self) -> Any:
        return self.inner.embedder()

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
        self.db.close()

    def ingest_queue_depth(self) -> int:
        """Ingest jobs queued or being worked on, by every worker (for /metrics)."""
        return IngestQueue(self.db).depth()

    # -- changing the corpus: through PostgreSQL -------------------------------------------

    def _target(self) -> Target:
        store = ArticleStore(self.db)
        if isinstance(self.inner, MilvusEngine):
            return SearchEngineTarget(self.inner.milvus, store, owns_indexer=False)
        return LocalIndexTarget(self.inner, store)

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        """Store the articles of ``paths`` in PostgreSQL, then work the ingest queue until they
        are all searchable (or their jobs failed). ``whole_folder`` changes nothing: the corpus
        folder is only an import source here, and only the files named get in."""
        store = ArticleStore(self.db)
        stored = store_articles(store, paths, max_bytes=self.inner.config.ingest_max_bytes)
        queue = IngestQueue(self.db)
        worker = IngestWorker(worker_name(self.replica, "ingest"), self.db, self._target())

        def report_progress() -> None:
            if progress:
                done = queue.batch_progress(stored.batch)
                progress("index", done.done + done.failed, done.total)

        worker.run(until=lambda: queue.batch_progress(stored.batch).settled, after_round=report_progress)
        report = IngestReport(changes=dict(stored.changes))
        report.failures = [IngestFailure(path, reason) for path, reason in stored.failures]
        report.failures += [IngestFailure(article_id, error) for article_id, error in queue.errors(stored.batch)]
        failed = {f.path for f in report.failures}
        new = [article_id for article_id, change in stored.changes.items() if change == "new"]
        report.new_articles = [a for a in store.get(new) if a.id not in failed]
        return report

    def reindex(self, progress: Progress | None = None) -> IndexStatus:
        """Rebuild the search index from PostgreSQL's articles; the ingest jobs queued before
        it read them are then done (the rebuilt index holds their articles)."""
        queue = IngestQueue(self.db)
        covered = queue.newest_id()
        if isinstance(self.inner, LocalEngine):
            sync_corpus_folder(ArticleStore(self.db), self.inner.config.corpus_dir)
        status = self.inner.reindex(progress)
        queue.settle_rebuilt(covered)
        if isinstance(self.inner, MilvusEngine):
            set_live_generation(self.db, status.version)  # the record; readers follow Milvus's own
        return status
