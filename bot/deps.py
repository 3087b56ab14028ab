"""What every handler needs, built once per application and kept in ``bot_data``.

deps = get_deps(context)
answer = await deps.engine.ask(question)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import cast

from telegram import Bot
from telegram.ext import ContextTypes

from bot.config import BotConfig
from bot.engine_client import EngineClient
from bot.inline_cache import InlineAnswerCache
from bot.metrics import BotMetrics
from bot.notifying import read_send_failure
from bot.opening import OpeningButtons
from bot.reindex import ReindexCoordinator
from bot.throttle import QuestionLimiter
from news_pipeline.feed_poll import FeedPoller
from news_pipeline.ingestion import Ingestion
from news_pipeline.watch import CorpusWatcher
from notifications.notifier import Notifier
from storage.interfaces import AnswerPageStore, FeedbackStore, OutboxStore, StateStore, SubscriptionStore
from storage.leases import CORPUS_WATCH, FEED_POLL, OUTBOX_SENDER, TELEGRAM_POLLING, Singletons, holder_name

DEPS_KEY = "hoptac"


@dataclass
class BotDeps:
    config: BotConfig
    engine: EngineClient
    state: StateStore
    limiter: QuestionLimiter
    notifier: Notifier
    ingestion: Ingestion
    reindex: ReindexCoordinator
    singletons: Singletons
    metrics: BotMetrics
    feeds: FeedPoller | None = None  # None: no feeds configured
    watcher: CorpusWatcher | None = None  # None: the corpus folder is not watched
    inline_answers: InlineAnswerCache = field(default_factory=InlineAnswerCache)  # bot.inline
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def create(cls, config: BotConfig, engine: EngineClient, state: StateStore, bot: Bot) -> BotDeps:
        """Everything the handlers need; ``bot`` is the application's own, for notifications."""
        buttons = OpeningButtons(engine, state.answer_pages)
        notifier = Notifier(state.outbox, state.subscriptions, engine, read_send_failure, buttons=buttons)
        reindex = ReindexCoordinator()
        ingestion = Ingestion(
            engine,
            exclusive=reindex.exclusive,
            incoming_dir=config.incoming_dir,
            announce=lambda: notifier.index_changed(bot),
        )
        feeds = None
        if config.feeds:
            feeds = FeedPoller(
                state.feeds,
                config.feeds,
                timeout_s=config.fetch_timeout_s,
                max_bytes=config.fetch_max_bytes,
                allowed_hosts=config.fetch_allowed_hosts,
            )
        watcher = CorpusWatcher(config.corpus_dir, config.imported_dir) if config.corpus_watch_s > 0 else None
        singletons = Singletons(
            state.leases(holder_name(config.replica_name), config.lease_ttl_s),
            [OUTBOX_SENDER]
            + ([FEED_POLL] if feeds else [])
            + ([CORPUS_WATCH] if watcher else [])
            + ([] if config.webhook_url else [TELEGRAM_POLLING]),
            config.lease_ttl_s,
        )
        metrics = BotMetrics(config.replica_name)
        engine.on_answer = metrics.observe_answer
        return cls(
            config=config,
            engine=engine,
            state=state,
            limiter=QuestionLimiter(config.rate_limit_questions, config.rate_limit_window_s),
            notifier=notifier,
            ingestion=ingestion,
            reindex=reindex,
            singletons=singletons,
            metrics=metrics,
            feeds=feeds,
            watcher=watcher,
        )

    # The parts of the state store, by what they hold.
    @property
    def subscriptions(self) -> SubscriptionStore:
        return self.state.subscriptions

    @property
    def outbox(self) -> OutboxStore:
        return self.state.outbox

    @property
    def feedback(self) -> FeedbackStore:
        return self.state.feedback

    @property
    def pages(self) -> AnswerPageStore:
        return self.state.answer_pages

    def is_admin(self, user_id: int | None) -> bool:
        """Admins are Telegram user ids listed in ``admin_ids``; nothing else counts."""
        return user_id is not None and user_id in self.config.admin_ids

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_at


def get_deps(context: ContextTypes.DEFAULT_TYPE) -> BotDeps:
    return cast(BotDeps, context.bot_data[DEPS_KEY])
