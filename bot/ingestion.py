"""Every change the bot makes to the corpus and index: one at a time, then announced.

    result = await ingest_paths(deps, bot, [Path("bai.jsonl")], activity="tệp tải lên")
    result = await ingest_articles(deps, bot, articles, activity="tin từ RSS")
    result.changes   # {"2024-05-20-...": "new", ...}

The files go through the engine's own ingest (``hoptac ingest`` does the same): each
article is written into the corpus folder and the index is updated (rebuilt beside the
old one, swapped in atomically) while questions keep being answered. Changes wait for
each other and for an admin's ``/reindex`` (:class:`~bot.reindex.ReindexCoordinator`).
Afterwards the notifier looks at the new index, so new articles are announced at once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from telegram import Bot

from retrieval.corpus import ArticleFormatError, article_path, article_to_markdown
from retrieval.models import Article

if TYPE_CHECKING:
    from bot.deps import BotDeps

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


async def ingest_paths(
    deps: BotDeps, bot: Bot, paths: Sequence[Path], activity: str, *, announce: bool = True
) -> IngestResult:
    """Ingest files (any format ``hoptac ingest`` reads), then (unless ``announce`` is
    False: call :func:`announce_new_articles` when ready) announce what is new.

    With no paths it still brings the index up to date with the corpus folder.
    Raises :class:`retrieval.engine.CorpusError` when the corpus folder holds a broken file.
    """
    async with deps.reindex.exclusive(activity):
        report = await deps.engine.ingest(paths)
    result = IngestResult(
        changes=dict(report.changes),
        failures=[(f.path, f.reason) for f in report.failures],
        titles={a.id: a.title for a in report.new_articles},
    )
    if announce:
        await announce_new_articles(deps, bot)
    return result


async def announce_new_articles(deps: BotDeps, bot: Bot) -> None:
    """Queue and send notifications for what the index now holds that was never announced."""
    try:
        await deps.notifier.index_changed(bot)
    except Exception:  # the articles are in; the next index check announces them
        _LOGGER.exception("Could not queue notifications for new articles")


async def ingest_articles(deps: BotDeps, bot: Bot, articles: Sequence[Article], activity: str) -> IngestResult:
    """Ingest articles made by the bot (fetched pages, feed items) like files would be."""
    deps.config.incoming_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="articles-", dir=deps.config.incoming_dir))
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
        result = await ingest_paths(deps, bot, [staging], activity) if len(failures) < len(articles) else IngestResult()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.failures = [*failures, *((origins.get(what, what), reason) for what, reason in result.failures)]
    result.titles = {**{a.id: a.title for a in articles}, **result.titles}
    return result
