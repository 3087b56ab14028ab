"""Newly indexed articles -> one notification in every subscribed chat, exactly once.

    notifier = Notifier(outbox, subscriptions, engine_client)
    await notifier.index_changed(bot)   # after the bot's own ingest, or when the index may have moved
    await notifier.deliver(bot)         # a job: send what is due, retry what failed

New articles are found by comparing the index the bot serves with the articles already
announced (:class:`~bot.outbox.Outbox`), so it does not matter how an article got there:
a feed, ``/add``, an upload, the watched corpus folder, or ``hoptac ingest`` run by
another process while the bot runs or while it was down. The notification goes out only
once the bot's engine serves the article, so it can be asked about straight away.

Sending: all due articles of a chat become one digest (several messages only past the
4,096-character limit); each message is marked sent once Telegram confirms it. Network
errors and flood limits (429, after the rate limiter's own retries) put the rest off with
exponential backoff (``retry_after`` when Telegram gives one); a chat that blocked the bot,
removed it or no longer exists (403, 400 "chat not found") is unsubscribed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.digest import DigestMessage, digest_messages, notice_for
from bot.engine_client import EngineClient
from bot.outbox import Outbox, PendingNotice
from bot.subscriptions import Subscriptions

_LOGGER = logging.getLogger(__name__)

#: First retry after a failed send, doubled on each further failure, up to RETRY_MAX_S.
RETRY_BASE_S = 10.0
RETRY_MAX_S = 3600.0


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure (0-based): 10, 20, 40 ... 3600."""
    return min(RETRY_BASE_S * 2 ** min(attempts, 20), RETRY_MAX_S)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


class Notifier:
    """See the module docstring. Event-loop only; the database work runs in threads."""

    def __init__(self, outbox: Outbox, subscriptions: Subscriptions, engine: EngineClient) -> None:
        self.outbox = outbox
        self.subscriptions = subscriptions
        self.engine = engine
        self._seen_version: str | None = None
        self._checking = asyncio.Lock()
        self._sending = asyncio.Lock()

    # --- finding new articles --------------------------------------------------------------

    async def check_index(self) -> int:
        """Queue the articles the served index holds and nobody has announced yet.

        Cheap when the index version has not changed since the last look. On a brand-new
        database the articles already indexed become the baseline (no flood on first
        start). Returns the number of notifications queued.
        """
        async with self._checking:
            status = await self.engine.status()
            if status.version == self._seen_version:
                return 0
            articles = await self.engine.latest_articles(status.articles)  # all of them
            fresh = await asyncio.to_thread(self.outbox.unannounced, [a.id for a in articles])
            if not await asyncio.to_thread(self.outbox.has_baseline):
                await asyncio.to_thread(self.outbox.record_baseline, fresh)
                _LOGGER.info("Notifications start now: %s indexed articles are the baseline", len(fresh))
                queued = 0
            elif fresh:
                notices = await asyncio.to_thread(lambda: [notice_for(a) for a in articles if a.id in fresh])
                queued = await asyncio.to_thread(self.outbox.announce, notices)
                _LOGGER.info("%s new articles indexed; %s notifications queued", len(notices), queued)
            else:
                queued = 0
            self._seen_version = status.version
            return queued

    async def index_changed(self, bot: Bot) -> int:
        """Load an index swapped in by another process, queue what is new, send it at once."""
        await self.engine.refresh()
        queued = await self.check_index()
        if queued:
            await self.deliver(bot)
        return queued

    # --- delivering ------------------------------------------------------------------------

    async def deliver(self, bot: Bot) -> int:
        """Send every due notification; returns how many articles were delivered."""
        async with self._sending:
            due = await asyncio.to_thread(self.outbox.due)
            by_chat: dict[int, list[PendingNotice]] = {}
            for item in due:
                by_chat.setdefault(item.chat_id, []).append(item)
            delivered = 0
            for chat_id, items in by_chat.items():
                delivered += await self._deliver_to(bot, chat_id, items)
            return delivered

    async def _deliver_to(self, bot: Bot, chat_id: int, items: list[PendingNotice]) -> int:
        messages = digest_messages([item.notice for item in items])
        attempts = max(item.attempts for item in items)
        delivered = 0
        for index, message in enumerate(messages):
            unsent = [a for m in messages[index:] for a in m.article_ids]
            try:
                await self._send(bot, chat_id, message)
            except RetryAfter as exc:
                await self._defer(chat_id, unsent, _seconds(exc.retry_after), exc)
                return delivered
            except ChatMigrated as exc:
                _LOGGER.info("Chat %s is now supergroup %s; its subscription moves along", chat_id, exc.new_chat_id)
                await asyncio.to_thread(self.subscriptions.move, chat_id, exc.new_chat_id)
                await asyncio.to_thread(self.outbox.move_chat, chat_id, exc.new_chat_id)
                return delivered
            except Forbidden as exc:
                await self._unsubscribe(chat_id, exc)
                return delivered
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    await self._unsubscribe(chat_id, exc)
                    return delivered
                # Telegram refused this message itself: sending it again would fail again.
                _LOGGER.error("Notification for chat %s refused: %s", chat_id, exc)
                await asyncio.to_thread(self.outbox.mark_failed, chat_id, message.article_ids, _one_line(exc))
                continue
            except NetworkError as exc:  # includes TimedOut
                await self._defer(chat_id, unsent, backoff_s(attempts), exc)
                return delivered
            await asyncio.to_thread(self.outbox.mark_sent, chat_id, message.article_ids)
            delivered += len(message.article_ids)
        _LOGGER.info("Notified chat %s of %s new articles", chat_id, delivered)
        return delivered

    @staticmethod
    async def _send(bot: Bot, chat_id: int, message: DigestMessage) -> None:
        for text in message.texts:
            await bot.send_message(chat_id, text)

    async def _defer(self, chat_id: int, article_ids: list[str], delay_s: float, error: Exception) -> None:
        _LOGGER.warning("Notification for chat %s not sent (%s); next try in %.0f s", chat_id, error, delay_s)
        await asyncio.to_thread(self.outbox.defer, chat_id, article_ids, delay_s, _one_line(error))

    async def _unsubscribe(self, chat_id: int, error: Exception) -> None:
        _LOGGER.warning("Chat %s is gone or blocked the bot (%s); unsubscribed", chat_id, error)
        await asyncio.to_thread(self.subscriptions.remove, chat_id)
        await asyncio.to_thread(self.outbox.drop_chat, chat_id, _one_line(error))
