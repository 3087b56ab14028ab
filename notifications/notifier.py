"""Newly indexed articles -> one notification in every subscribed chat, exactly once.

    notifier = Notifier(outbox, subscriptions, served_articles, read_failure)
    await notifier.index_changed(sender)   # after an ingest, or when the index may have moved
    await notifier.deliver(sender)         # a job: send what is due, retry what failed

New articles are found by comparing the index the bot serves with the articles already
announced (:class:`~storage.interfaces.OutboxStore`), so it does not matter how an article got there:
a feed, ``/add``, an upload, the watched corpus folder, or ``hoptac ingest`` run by
another process while the bot runs or while it was down. The notification goes out only
once the bot's engine serves the article, so it can be asked about straight away. A chat
hears of an article only when one of its filters (everything, a place, a keyword:
:mod:`notifications.subscription_filters`) matches it, and then once, however many match.

Several senders (bot replicas on one PostgreSQL) share the outbox: each sends only the
rows it claimed (:meth:`~storage.interfaces.OutboxStore.claim_due`), so no notification
goes out twice; rows a crashed sender had claimed are due again when their lease ends.

Sending: all due articles of a chat become one digest (several messages only past the
4,096-character limit); each message is marked sent once Telegram confirms it. Network
errors and flood limits (429, after the rate limiter's own retries) put the rest off with
exponential backoff (``retry_after`` when Telegram gives one); a chat that blocked the bot,
removed it or no longer exists (403, 400 "chat not found") is unsubscribed. What an
error means is read by the ``read_failure`` the front end supplies
(:mod:`notifications.sending`); this module knows nothing of python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from notifications.digest import DigestMessage, digest_messages, notice_for
from notifications.sending import ButtonMaker, FailureKind, FailureReader, Sender
from notifications.subscription_filters import audience_of
from retrieval.engine import IndexStatus
from retrieval.models import Article
from storage.interfaces import OutboxStore, SubscriptionStore
from storage.records import Notice, PendingNotice

_LOGGER = logging.getLogger(__name__)

#: First retry after a failed send, doubled on each further failure, up to RETRY_MAX_S.
RETRY_BASE_S = 10.0
RETRY_MAX_S = 3600.0
#: A sender claims at most CLAIM_LIMIT due rows at a time, each hidden from other senders
#: for CLAIM_LEASE_S (longer than sending them takes, flood-control waits included).
CLAIM_LIMIT = 1000
CLAIM_LEASE_S = 300.0


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure (0-based): 10, 20, 40 ... 3600."""
    return min(RETRY_BASE_S * 2 ** min(attempts, 20), RETRY_MAX_S)


class ServedArticles(Protocol):
    """The part of the engine the notifier looks at: what the served index holds."""

    async def refresh(self) -> bool: ...

    async def status(self) -> IndexStatus: ...

    async def latest_articles(self, n: int = 5) -> list[Article]: ...


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


class Notifier:
    """See the module docstring. Event-loop only; the database work runs in threads."""

    def __init__(
        self,
        outbox: OutboxStore,
        subscriptions: SubscriptionStore,
        engine: ServedArticles,
        read_failure: FailureReader,
        buttons: ButtonMaker | None = None,
    ) -> None:
        self.outbox = outbox
        self.subscriptions = subscriptions
        self.engine = engine
        self.read_failure = read_failure
        self.buttons = buttons
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
                new = [a for a in articles if a.id in fresh]
                chats = await asyncio.to_thread(self.subscriptions.audience)
                notices = await asyncio.to_thread(lambda: [notice_for(a) for a in new])
                audience = await asyncio.to_thread(audience_of, new, chats)  # each chat's filters
                queued = await asyncio.to_thread(self.outbox.announce, notices, None, audience)
                _LOGGER.info("%s new articles indexed; %s notifications queued", len(notices), queued)
            else:
                queued = 0
            self._seen_version = status.version
            return queued

    async def index_changed(self, sender: Sender) -> int:
        """Load an index swapped in by another process, queue what is new, send it at once."""
        await self.engine.refresh()
        queued = await self.check_index()
        if queued:
            await self.deliver(sender)
        return queued

    # --- delivering ------------------------------------------------------------------------

    async def deliver(self, sender: Sender) -> int:
        """Send every due notification; returns how many articles were delivered."""
        async with self._sending:
            # Claimed rows are this sender's for CLAIM_LEASE_S: another replica's sender
            # skips them; each is settled below, or due again when the lease ends (a crash).
            claimed_at = time.monotonic()
            due = await asyncio.to_thread(self.outbox.claim_due, None, CLAIM_LIMIT, CLAIM_LEASE_S)
            by_chat: dict[int, list[PendingNotice]] = {}
            for item in due:
                by_chat.setdefault(item.chat_id, []).append(item)
            delivered = 0
            chats = list(by_chat.items())
            for done, (chat_id, items) in enumerate(chats):
                if time.monotonic() - claimed_at > CLAIM_LEASE_S * 0.8:
                    # Slow going (flood limits): what is left is given back before the claim
                    # ends, so no other sender can take a row this one is still about to send.
                    self._release_all(chats[done:])
                    break
                try:
                    delivered += await self._deliver_to(sender, chat_id, items)
                except BaseException:
                    # Stopping (or a bug): the chats not reached are due again at once, not
                    # after the lease. (The interrupted chat's unsettled rows wait for it.)
                    self._release_all(chats[done + 1 :])
                    raise
            return delivered

    def _release_all(self, chats: list[tuple[int, list[PendingNotice]]]) -> None:
        for chat_id, items in chats:
            self._release(chat_id, [item.notice.article_id for item in items])

    def _release(self, chat_id: int, article_ids: list[str]) -> None:
        try:
            self.outbox.release(chat_id, article_ids)  # blocking, but short and rare (stopping, running late)
        except Exception as exc:
            _LOGGER.warning("Could not give back the notifications of chat %s: %s", chat_id, exc)

    async def _deliver_to(self, sender: Sender, chat_id: int, items: list[PendingNotice]) -> int:
        notices = {item.notice.article_id: item.notice for item in items}
        messages = digest_messages(list(notices.values()))
        attempts = max(item.attempts for item in items)
        delivered = 0
        for index, message in enumerate(messages):
            unsent = [a for m in messages[index:] for a in m.article_ids]
            try:
                await self._send(sender, chat_id, message, [notices[a] for a in message.article_ids if a in notices])
            except Exception as exc:
                failure = self.read_failure(exc)
                if failure is None:
                    raise
                if failure.kind is FailureKind.RETRY_LATER:
                    wait_s = failure.retry_after_s if failure.retry_after_s is not None else backoff_s(attempts)
                    await self._defer(chat_id, unsent, wait_s, exc)
                    return delivered
                if failure.kind is FailureKind.CHAT_MOVED and failure.new_chat_id is not None:
                    new_id = failure.new_chat_id
                    _LOGGER.info("Chat %s is now supergroup %s; its subscription moves along", chat_id, new_id)
                    await asyncio.to_thread(self.subscriptions.move, chat_id, new_id)
                    await asyncio.to_thread(self.outbox.move_chat, chat_id, new_id)
                    return delivered
                if failure.kind is FailureKind.CHAT_GONE:
                    await self._unsubscribe(chat_id, exc)
                    return delivered
                if failure.kind is FailureKind.REFUSED:
                    # The message itself was refused: sending it again would fail again.
                    _LOGGER.error("Notification for chat %s refused: %s", chat_id, exc)
                    await asyncio.to_thread(self.outbox.mark_failed, chat_id, message.article_ids, _one_line(exc))
                    continue
                await self._defer(chat_id, unsent, backoff_s(attempts), exc)  # transient
                return delivered
            await asyncio.to_thread(self.outbox.mark_sent, chat_id, message.article_ids)
            delivered += len(message.article_ids)
        _LOGGER.info("Notified chat %s of %s new articles", chat_id, delivered)
        return delivered

    async def _send(self, sender: Sender, chat_id: int, message: DigestMessage, notices: list[Notice]) -> None:
        markup = await self._buttons_for(notices)
        for number, text in enumerate(message.texts, 1):
            if markup is not None and number == len(message.texts):  # the buttons go under the last part
                await sender.send_message(chat_id, text, reply_markup=markup)
            else:
                await sender.send_message(chat_id, text)

    async def _buttons_for(self, notices: list[Notice]) -> Any:
        """The front end's buttons for these notices; None without (or when making them failed:
        the notification still goes)."""
        if self.buttons is None or not notices:
            return None
        try:
            return await self.buttons(notices)
        except Exception:
            _LOGGER.exception("Could not make the buttons of a notification; sending it without")
            return None

    async def _defer(self, chat_id: int, article_ids: list[str], delay_s: float, error: BaseException) -> None:
        _LOGGER.warning("Notification for chat %s not sent (%s); next try in %.0f s", chat_id, error, delay_s)
        await asyncio.to_thread(self.outbox.defer, chat_id, article_ids, delay_s, _one_line(error))

    async def _unsubscribe(self, chat_id: int, error: BaseException) -> None:
        _LOGGER.warning("Chat %s is gone or blocked the bot (%s); unsubscribed", chat_id, error)
        await asyncio.to_thread(self.subscriptions.remove, chat_id)
        await asyncio.to_thread(self.outbox.drop_chat, chat_id, _one_line(error))
