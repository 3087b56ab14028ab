"""`hoptac ingest` and `hoptac worker` with ``HOPTAC_DATABASE_URL``: articles stored in PostgreSQL
(the system of record), then made searchable by workers working the ingest queue.

    stored = store_articles(ArticleStore(db), [Path("new/")])    # one batch; (path, reason) failures
    worker = open_ingest_worker(settings, db, "ingest")           # hoptac.wiring: Milvus, else local
    worker.run(until=lambda: IngestQueue(db).batch_progress(stored.batch).settled)

Without ``search_url`` the search index is the local one, derived from the corpus folder:
the worker writes PostgreSQL's articles into the folder and runs the engine's incremental
ingest (:class:`hoptac.worker.LocalIndexTarget`). ``database_url`` and ``search_url`` are
each usable alone; without ``database_url`` nothing here is used (the embedded path).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hoptac.settings import Settings, replica_name
from retrieval.articles.corpus import ArticleFormatError
from retrieval.articles.importers import import_path
from retrieval.models import Article
from storage.postgres.articles import ArticleStore, Change, entrance


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


def store_articles(store: ArticleStore, paths: Sequence[Path], batch: str | None = None) -> StoredArticles:
    """Import ``paths`` (every format :func:`retrieval.importers.import_path` reads) and store the
    articles in one transaction with their jobs; a file or article that cannot be read or stored
    is a failure of its own and never stops the others."""
    stored = StoredArticles(batch or new_batch("ingest"))
    articles: dict[str, Article] = {}
    for path in paths:
        result = import_path(Path(path))
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


def worker_name(settings: Settings, role: str) -> str:
    """``replica/role-pid-random``: unique to this process, so its claims are its own."""
    return f"{replica_name(settings)}/{role}-{os.getpid()}-{secrets.token_hex(2)}"


__all__ = ["StoredArticles", "new_batch", "store_articles", "worker_name"]
