"""Every change the news pipeline makes to the corpus and index: one at a time, then announced.

    ingestion = Ingestion(engine, exclusive=coordinator.exclusive, incoming_dir=..., announce=...)
    result = await ingestion.ingest_paths([Path("bai.jsonl")], activity="tệp tải lên")
    result = await ingestion.ingest_articles(articles, activity="tin từ RSS")
    result.changes   # {"2024-05-20-...": "new", ...}

The files go through the engine's own ingest (``hoptac ingest`` does the same): each
article is written into the corpus folder and the index is updated (rebuilt beside the
old one, swapped in atomically) while questions keep being answered. Changes wait for
each other and for an admin's reindex (``exclusive``). Afterwards ``announce`` looks at
the new index, so new articles are announced at once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from retrieval.articles.corpus import ArticleFormatError, article_path, article_to_markdown
from retrieval.engine import IngestReport
from retrieval.models import Article

_LOGGER = logging.getLogger(__name__)

Change = Literal["new", "updated", "unchanged"]


@dataclass
class IngestResult:
    """What an ingest did, per article; ``failures`` are (file or article, reason)."""

    changes: dict[str, Change] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # article id -> title, where known

    def count(self, change: Change) -> int:
        return sum(1 for c in self.changes.values() if c == change)


class IngestingEngine(Protocol):
    """The part of the engine ingestion uses (awaited; the engine runs off the event loop)."""

    async def ingest(self, paths: Sequence[Path], *, whole_folder: bool = False) -> IngestReport: ...


#: One change of the index at a time: ``async with exclusive("tệp tải lên"): ...``.
Exclusive = Callable[[str], AbstractAsyncContextManager[None]]


class Ingestion:
    """The one path by which new articles reach the engine (see the module docstring)."""

    def __init__(
        self,
        engine: IngestingEngine,
        *,
        exclusive: Exclusive,
        incoming_dir: Path,
        announce: Callable[[], Awaitable[object]],
    ) -> None:
        self.engine = engine
        self.exclusive = exclusive
        self.incoming_dir = incoming_dir
        self._announce = announce

    async def ingest_paths(
        self, paths: Sequence[Path], activity: str, *, announce: bool = True, whole_folder: bool = False
    ) -> IngestResult:
        """Ingest files (any format ``hoptac ingest`` reads), then (unless ``announce`` is
        False: call :meth:`announce_new_articles` when ready) announce what is new.

        Only the articles of ``paths`` are compared with the index; with no paths, or with
        ``whole_folder`` (the watcher), the index is brought up to date with the whole corpus
        folder. Raises :class:`retrieval.engine.CorpusError` when a corpus file it reads is broken.
        """
        async with self.exclusive(activity):
            report = await self.engine.ingest(paths, whole_folder=whole_folder)
        result = IngestResult(
            changes=dict(report.changes),
            failures=[(f.path, f.reason) for f in report.failures],
            titles={a.id: a.title for a in report.new_articles},
        )
        if announce:
            await self.announce_new_articles()
        return result

    async def announce_new_articles(self) -> None:
        """Queue and send notifications for what the index now holds that was never announced."""
        try:
            await self._announce()
        except Exception:  # the articles are in; the next index check announces them
            _LOGGER.exception("Could not queue notifications for new articles")

    async def ingest_articles(self, articles: Sequence[Article], activity: str) -> IngestResult:
        """Ingest articles made by the pipeline (fetched pages, feed items) like files would be."""
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="articles-", dir=self.incoming_dir))
        failures: list[tuple[str, str]] = []
        origins: dict[str, str] = {}  # staged file -> the article's URL (or id), for failure messages
        try:
            for article in articles:
                path = article_path(staging, article.id)
                origins[str(path)] = article.url or article.id
                try:
                    path.write_text(article_to_markdown(article), encoding="utf-8")
                except ArticleFormatError as exc:
                    failures.append((origins[str(path)], exc.reason))
            result = await self.ingest_paths([staging], activity) if len(failures) < len(articles) else IngestResult()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        result.failures = [*failures, *((origins.get(what, what), reason) for what, reason in result.failures)]
        result.titles = {**{a.id: a.title for a in articles}, **result.titles}
        return result
