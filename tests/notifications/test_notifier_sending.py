"""Notifications go out through any sender: the notifier knows nothing of Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path

from notifications.notifier import Notifier
from notifications.sending import FailureKind, SendFailure
from retrieval.engine import IndexStatus
from retrieval.models import Article
from storage.sqlite import SQLiteStateStore

ARTICLE = Article(
    id="2024-05-20-logistics",
    title="Bắc Ninh và Hải Phòng hợp tác logistics",
    text="Hai địa phương ký thỏa thuận phát triển trung tâm logistics chung. Dự án khởi công năm 2025.",
    published=datetime(2024, 5, 20, tzinfo=UTC),
    source="Báo Bắc Ninh",
)


class Index:
    """The served index: first without the article, then with it."""

    def __init__(self) -> None:
        self.articles: list[Article] = []

    async def refresh(self) -> bool:
        return False

    async def status(self) -> IndexStatus:
        return IndexStatus(
            articles=len(self.articles), passages=0, sentences=0, model="m", dimension=0, built_at="",
            age_seconds=0.0, index_bytes=0, index_kind="flat", corpus_fingerprint="", version=str(len(self.articles)),
        )  # fmt: skip

    async def latest_articles(self, n: int = 5) -> list[Article]:
        return self.articles[:n]


class Gone(Exception):
    pass


class Outbox:
    """A sender that records messages, and refuses one chat as blocked."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str) -> None:
        if chat_id == 666:
            raise Gone("blocked")
        self.sent.append((chat_id, text))


def read_failure(error: BaseException) -> SendFailure | None:
    return SendFailure(FailureKind.CHAT_GONE) if isinstance(error, Gone) else None


async def test_a_new_article_reaches_each_subscriber_once_through_a_plain_sender(tmp_path: Path) -> None:
    state = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    index, sender = Index(), Outbox()
    notifier = Notifier(state.outbox, state.subscriptions, index, read_failure)
    state.subscriptions.add(1, "private", "", 1)
    state.subscriptions.add(666, "group", "Nhóm đã chặn bot", 1)
    await notifier.check_index()  # the baseline: nothing indexed yet

    index.articles.append(ARTICLE)
    await notifier.index_changed(sender)
    await notifier.index_changed(sender)  # nothing new the second time

    assert [chat for chat, _ in sender.sent] == [1]
    assert "Bắc Ninh và Hải Phòng hợp tác logistics" in sender.sent[0][1]
    assert not state.subscriptions.is_subscribed(666)  # the blocked chat was unsubscribed


class Stuck:
    """A sender whose first send never returns (the bot is being stopped meanwhile)."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()

    async def send_message(self, chat_id: int, text: str) -> None:
        self.sending.set()
        await asyncio.Event().wait()


async def test_a_sender_stopped_mid_way_gives_back_the_chats_it_had_not_reached(tmp_path: Path) -> None:
    state = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    index, sender = Index(), Stuck()
    notifier = Notifier(state.outbox, state.subscriptions, index, read_failure)
    for chat in (1, 2, 3):
        state.subscriptions.add(chat, "private", "", chat)
    await notifier.check_index()
    index.articles.append(ARTICLE)
    assert await notifier.check_index() == 3

    delivery = asyncio.create_task(notifier.deliver(sender))
    await asyncio.wait_for(sender.sending.wait(), 10)
    assert state.outbox.claim_due() == []  # all three claimed by the sender: no other takes them
    delivery.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await delivery

    # Chats 2 and 3 are due again at once; chat 1's row waits for its claim to end (it may
    # have been sent: Telegram could have taken it before the stop).
    assert [item.chat_id for item in state.outbox.due()] == [2, 3]
    assert [item.chat_id for item in state.outbox.due(time.time() + 3600)] == [1, 2, 3]
    state.close()
