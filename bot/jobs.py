"""The bot's background jobs (PTB's JobQueue), one small async function each; scheduled in
:func:`bot.app.build_application`.

- ``refresh_index``: pick up an index swapped in by another process, announce what is new
- ``send_notifications``: deliver due notifications (retries included)
- ``watch_corpus``: ingest files dropped into the corpus folder
- ``poll_feeds``: fetch the feeds and ingest their new items

The last three are singletons: with several replicas on one database each runs only on
the replica holding its lease (:mod:`bot.replicas`); a new article found by any replica
is still announced once (the outbox) and sent once (claims).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram.ext import ContextTypes

from bot.deps import BotDeps, get_deps
from bot.replicas import holds
from markup import catalogue as words
from news_pipeline.watch import CorpusWatcher
from retrieval.articles.corpus import article_path
from storage.leases import CORPUS_WATCH, FEED_POLL, OUTBOX_SENDER

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


async def refresh_index(context: Context) -> None:
    """Pick up an index that another process (``hoptac reindex``/``ingest``) swapped in and
    announce its new articles; then touch the heartbeat file that says the bot and its
    engine are alive."""
    deps = get_deps(context)
    if await deps.engine.refresh():
        _LOGGER.info("Loaded a new index built by another process")
    try:
        if await deps.notifier.check_index():
            await deps.notifier.deliver(context.bot)
    except Exception:  # notifications are retried at the next check; answering goes on
        _LOGGER.exception("Could not check the index for new articles")
    touch_heartbeat(deps)


def touch_heartbeat(deps: BotDeps) -> None:
    try:
        deps.config.heartbeat_path.touch()
    except OSError as exc:
        _LOGGER.warning("Cannot touch %s: %s", deps.config.heartbeat_path, exc)


async def send_notifications(context: Context) -> None:
    """Deliver the notifications that are due (new ones are also sent as soon as found)."""
    deps = get_deps(context)
    if holds(deps, OUTBOX_SENDER):
        await deps.notifier.deliver(context.bot)


async def watch_corpus(context: Context) -> None:
    """Ingest what changed in the corpus folder; other formats than .md are moved aside after."""
    deps = get_deps(context)
    watcher = deps.watcher
    if watcher is None or watcher.turn.locked() or deps.reindex.busy or not holds(deps, CORPUS_WATCH):
        return  # another look, or another change of the index, is running: look again next time
    async with watcher.turn:
        await _ingest_folder_changes(deps, context, watcher)


async def _ingest_folder_changes(deps: BotDeps, context: Context, watcher: CorpusWatcher) -> None:
    change = await asyncio.to_thread(watcher.look)
    if change is None or change.unsettled:
        return  # nothing new, or a file is still being written: all of it at the next look
    try:
        result = await deps.ingestion.ingest_paths(
            [*change.to_import, *change.articles],
            activity=words.ACTIVITY_FOLDER.say(),
            announce=False,
            whole_folder=True,
        )
    except Exception as exc:
        # Typically a broken .md file in the folder; fixing it is a change, which retries.
        watcher.last_error = f"{type(exc).__name__}: {exc}"
        _LOGGER.error("Corpus folder not ingested: %s", watcher.last_error)
        await asyncio.to_thread(watcher.done, change)
        return
    imported = [*change.to_import, *(change.articles if deps.config.corpus_is_inbox else [])]
    unreadable = {path for path in imported if any(what == str(path) for what, _ in result.failures)}
    for what, reason in result.failures:
        _LOGGER.warning("Corpus folder: %s: %s", Path(what).name, reason)
    moved = await asyncio.to_thread(watcher.set_aside, imported, unreadable)
    written = [article_path(watcher.corpus_dir, i) for i, c in result.changes.items() if c != "unchanged"]
    await asyncio.to_thread(watcher.done, change, moved, written)
    watcher.last_error = None
    await deps.ingestion.announce_new_articles()
    if result.changes or change.to_import:
        _LOGGER.info(
            "Corpus folder: %s new, %s updated, %s unchanged, %s failed",
            result.count("new"),
            result.count("updated"),
            result.count("unchanged"),
            len(result.failures),
        )


async def poll_feeds(context: Context) -> None:
    """Poll every feed and ingest the new items (a feed that fails does not stop the others)."""
    deps = get_deps(context)
    if deps.feeds is None or not holds(deps, FEED_POLL):
        return
    summary = await deps.feeds.poll(
        lambda articles: deps.ingestion.ingest_articles(articles, activity=words.ACTIVITY_FEEDS.say())
    )
    _LOGGER.info("Polled %s feeds: %s articles added, %s feeds failed", summary.feeds, summary.added, summary.failed)
