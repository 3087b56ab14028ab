"""`hoptac ingest` and `hoptac worker` with ``HOPTAC_DATABASE_URL``: articles stored in PostgreSQL
(the system of record), then made searchable by workers working the ingest queue.

    stored = store_articles(ArticleStore(db), [Path("new/")])    # one batch; (path, reason) failures
    worker = open_ingest_worker(settings, db, "ingest")           # hoptac.wiring: Milvus, else local
    worker.run(until=lambda: IngestQueue(db).batch_progress(stored.batch).settled)

Without ``search_url`` the search index is the local one, derived from the corpus folder:
the worker writes PostgreSQL's articles into the folder and runs the engine's incremental
ingest (:class:`ingest_service.worker.LocalIndexTarget`). ``database_url`` and ``search_url`` are
each usable alone; without ``database_url`` nothing here is used (the embedded path).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.articles.corpus import ArticleFormatError
from retrieval.articles.importers import import_path
from retrieval.models import Article
from storage.postgres.articles import ArticleStore, Change, entrance
from storage.postgres.ingest_jobs import BatchProgress, IngestQueue

if TYPE_CHECKING:
    from ingest_service.worker import IngestWorker


@dataclass
class StoredArticles:
    """One ``hoptac ingest`` into PostgreSQL: its batch, what happened to each article, what failed."""

    batch: str
    changes: dict[str, Change] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def count(self, change: Change) -> int:
        return sum(1 for c in self.changes.values() if c == change)


def new_batch(kind: str) -> str:
    """A batch name that says when and what: ``ingest-20261130T170312-3fa2c1``."""
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def store_articles(
    store: ArticleStore, paths: Sequence[Path], batch: str | None = None, max_bytes: int = 0
) -> StoredArticles:
    """Import ``paths`` (every format :func:`retrieval.importers.import_path` reads, files over
    ``max_bytes`` refused; 0: no limit) and store the articles in one transaction with their
    jobs; a file or article that cannot be read or stored is a failure of its own and never
    stops the others."""
    stored = StoredArticles(batch or new_batch("ingest"))
    articles: dict[str, Article] = {}
    for path in paths:
        result = import_path(Path(path), max_bytes=max_bytes)
        stored.failures.extend(result.failures)
        for article in result.articles:
            try:
                cleaned = entrance(article)
            except ArticleFormatError as exc:
                stored.failures.append((article.id or str(path), exc.reason))
                continue
            if cleaned.id in articles:
                stored.failures.append((str(path), f"duplicate id {cleaned.id!r} in this import; first one kept"))
                continue
            articles[cleaned.id] = cleaned
    stored.changes = store.upsert(articles.values(), stored.batch)
    return stored


@dataclass
class DatabaseIngest:
    """``hoptac ingest`` with a database: the files' articles stored as one batch, whose jobs a
    worker from ``open_worker`` then makes searchable while the caller follows them.

        stored = ingest.store([Path("new/")])
        ingest.open_worker().run(until=lambda: ingest.progress(stored.batch).settled)
        ingest.errors(stored.batch)                  # (article id, error) of the jobs that failed
    """

    articles: ArticleStore
    queue: IngestQueue
    open_worker: Callable[[], IngestWorker]
    max_bytes: int = 0  # the largest file read; 0: no limit

    def store(self, paths: Sequence[Path]) -> StoredArticles:
        return store_articles(self.articles, paths, max_bytes=self.max_bytes)

    def progress(self, batch: str) -> BatchProgress:
        return self.queue.batch_progress(batch)

    def errors(self, batch: str) -> list[tuple[str, str]]:
        return self.queue.errors(batch)


def worker_name(replica: str, role: str) -> str:
    """``replica/role-pid-random``: unique to this process, so its claims are its own."""
    return f"{replica}/{role}-{os.getpid()}-{secrets.token_hex(2)}"


__all__ = ["DatabaseIngest", "StoredArticles", "new_batch", "store_articles", "worker_name"]
