"""What every handler needs, built once per application and kept in ``bot_data``.

deps = get_deps(context)
answer = await deps.engine.ask(question)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import cast

from telegram.ext import ContextTypes

from bot.answer_pages import AnswerPages
from bot.config import BotConfig
from bot.database import Database
from bot.engine_client import EngineClient
from bot.feed_poll import FeedPoller
from bot.feed_store import FeedStore
from bot.feedback import FeedbackStore
from bot.notifier import Notifier
from bot.outbox import Outbox
from bot.reindex import ReindexCoordinator
from bot.subscriptions import Subscriptions
from bot.throttle import QuestionLimiter
from bot.watch import CorpusWatcher

DEPS_KEY = "hoptac"


@dataclass
class BotDeps:
    config: BotConfig
    engine: EngineClient
    feedback: FeedbackStore
    limiter: QuestionLimiter
    database: Database
    subscriptions: Subscriptions
    outbox: Outbox
    notifier: Notifier
    feeds: FeedPoller | None = None  # None: no feeds configured
    watcher: CorpusWatcher | None = None  # None: the corpus folder is not watched
    pages: AnswerPages = field(default_factory=AnswerPages)
    reindex: ReindexCoordinator = field(default_factory=ReindexCoordinator)
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def create(cls, config: BotConfig, engine: EngineClient) -> BotDeps:
        database = Database(config.database_path)
        subscriptions = Subscriptions(database)
        outbox = Outbox(database)
        feeds = None
        if config.feeds:
            feeds = FeedPoller(
                FeedStore(database), config.feeds, timeout_s=config.fetch_timeout_s, max_bytes=config.fetch_max_bytes
            )
        watcher = CorpusWatcher(config.corpus_dir, config.imported_dir) if config.corpus_watch_s > 0 else None
        return cls(
            config=config,
            engine=engine,
            feedback=FeedbackStore(config.database_path),
            limiter=QuestionLimiter(config.rate_limit_questions, config.rate_limit_window_s),
            database=database,
            subscriptions=subscriptions,
            outbox=outbox,
            notifier=Notifier(outbox, subscriptions, engine),
            feeds=feeds,
            watcher=watcher,
        )

    def is_admin(self, user_id: int | None) -> bool:
        """Admins are Telegram user ids listed in ``admin_ids``; nothing else counts."""
        return user_id is not None and user_id in self.config.admin_ids

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_at


def get_deps(context: ContextTypes.DEFAULT_TYPE) -> BotDeps:
    return cast(BotDeps, context.bot_data[DEPS_KEY])
