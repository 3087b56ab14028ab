"""New articles -> one notification in every subscribed chat, exactly once, whatever happens.

These run the real answer engine (with the hashing embedder: real index, no model) and
the real bot against the fake Bot API; "another process" is another engine instance
over the same corpus and data folders, as `hoptac ingest` would be.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

import bot.app
import notifications.notifier
from bot.delivery import RetryingRateLimiter
from bot.testing.fake_bot_api import buttons
from notifications.notifier import Notifier
from retrieval.articles.corpus import article_path
from retrieval.local.index import IndexStore
from tests.bot_harness import ADMIN, BINH, GROUP, LAN, PRIVATE_ADMIN, PRIVATE_BINH, WAIT_S, BotHarness
from tests.file_opens import files_opened
from tests.newsroom import (
    GROUP_2,
    LOGISTICS,
    LOGISTICS_LEAD,
    TEA,
    TOURISM,
    Newsroom,
    jsonl,
    sent_to,
    subscribe,
)

FAST = {"bot_refresh_seconds": 0.05, "notify_send_seconds": 0.05}


async def killed(self: Notifier, _bot: Any) -> int:
    """Notifier.deliver of a bot that dies before it sends anything."""
    return 0


async def nothing_more_is_sent(bot: BotHarness) -> None:
    """Let the bot look at the index and deliver what is due, right now."""
    await bot.deps.notifier.check_index()
    await bot.deps.notifier.deliver(bot.application.bot)


async def test_an_article_ingested_by_another_process_is_announced_in_each_subscribed_chat(
    newsroom: Newsroom,
) -> None:
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        await subscribe(bot, GROUP_2, BINH)
        await subscribe(bot, PRIVATE_BINH, BINH)

        report = await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS)
        assert report.changes == {LOGISTICS["id"]: "new"}
        notices = [await bot.api.next_message(chat.id, WAIT_S) for chat in (GROUP, GROUP_2, PRIVATE_BINH)]

        for notice in notices:
            text = notice["text"]
            assert "Bài mới trong kho tin" in text
            assert f"{LOGISTICS['title']}\nBáo Bắc Ninh, 20/05/2024\n«{LOGISTICS_LEAD}»" in text
            assert "/ask" not in text  # the button says it better than a question would
            assert buttons(notice) == {"📰 Nội dung chính": buttons(notices[0])["📰 Nội dung chính"]}
        links = [e for e in notices[0]["entities"] if e["type"] == "text_link"]
        assert links[0]["url"] == LOGISTICS["url"]

        # Answerable right after: the bot's engine already serves the new index.
        bot.api.send_text(GROUP, LAN, "/ask Trung tâm logistics tại cửa khẩu Hữu Nghị có vốn đầu tư bao nhiêu?")
        answer = await bot.api.next_message(GROUP.id, WAIT_S)
        assert "3.000 tỷ đồng" in answer["text"] and LOGISTICS["title"] in answer["text"]

        await nothing_more_is_sent(bot)
        assert len(sent_to(bot.api, GROUP_2.id)) == 2  # "/subscribe" answered, one notification


async def test_a_notifications_button_answers_with_the_articles_opening_quoted_and_cited(newsroom: Newsroom) -> None:
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS)
        notice = await bot.api.next_message(GROUP.id, WAIT_S)

        bot.api.press_button(BINH, notice, "📰 Nội dung chính")
        opening = await bot.api.next_message(GROUP.id, WAIT_S)
        searched = bot.deps.metrics.registry.get_sample_value("hoptac_questions_total")

    # Sent through the fake Bot API, so it passed the strict Telegram HTML checker.
    text = opening["text"]
    assert text.startswith("📰 Phần mở đầu của bài\n\n")
    assert f"«{LOGISTICS_LEAD}»\n— {LOGISTICS['title']}, Báo Bắc Ninh, 20/05/2024" in text
    links = [e["url"] for e in opening["entities"] if e["type"] == "text_link"]
    assert links == [LOGISTICS["url"]]
    assert "reply_markup" not in opening
    assert searched == 0  # the opening itself, not a search


async def test_the_articles_indexed_before_notifications_began_are_never_announced(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)
        await nothing_more_is_sent(bot)

        assert bot.deps.outbox.rows() == []
        assert sent_to(bot.api, GROUP.id) == [sent_to(bot.api, GROUP.id)[0]]  # only the /subscribe reply


async def test_an_updated_article_is_not_announced_again(newsroom: Newsroom) -> None:
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS)
        await bot.api.next_message(GROUP.id, WAIT_S)

        corrected = {**LOGISTICS, "body": LOGISTICS["body"] + "\nBài viết đã được cập nhật lúc 10 giờ."}
        report = await asyncio.to_thread(newsroom.ingest_elsewhere, corrected)
        assert report.changes == {LOGISTICS["id"]: "updated"}
        await asyncio.to_thread(bot.engine.refresh)
        await nothing_more_is_sent(bot)

        assert len(sent_to(bot.api, GROUP.id)) == 2
        answer = await bot.ask_private(LAN, PRIVATE_BINH, "Bài viết được cập nhật lúc mấy giờ?")
        assert "10 giờ" in answer["text"]  # the new text is served; it was just not announced


async def test_many_new_articles_at_once_become_one_digest_per_chat(newsroom: Newsroom) -> None:
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS, TOURISM, TEA)
        digest = (await bot.api.next_message(GROUP.id, WAIT_S))["text"]

        assert digest.startswith("🆕 3 bài mới trong kho tin")
        for number, article in enumerate((LOGISTICS, TOURISM, TEA), 1):
            assert f"{number}. {article['title']}" in digest
        await nothing_more_is_sent(bot)
        assert len(sent_to(bot.api, GROUP.id)) == 2


async def test_one_uploaded_article_becomes_a_delta_searchable_at_once_and_announced_once(newsroom: Newsroom) -> None:
    """Issue 25: an upload touches only its article (no other corpus file is opened) and the
    index delta; the article is answered from at once and announced exactly once."""
    many = [
        {**TEA, "id": f"tin-{i:03d}", "title": f"Bản tin số {i}", "body": f"Bản tin số {i}. " + TEA["body"]}
        for i in range(120)
    ]
    await asyncio.to_thread(newsroom.ingest_elsewhere, *many)  # before notifications began: never announced
    store = IndexStore(newsroom.settings().engine_config().index_root)
    deltas = len(store.read_manifest().delta)
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        with files_opened(newsroom.corpus_dir) as opened:
            bot.api.send_document(PRIVATE_ADMIN, ADMIN, "logistics.jsonl", jsonl(LOGISTICS))
            result = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)
        notice = await bot.api.next_message(GROUP.id, WAIT_S)

        assert "Tổng: 1 mới, 0 cập nhật, 0 không đổi, 0 lỗi." in result["text"]
        own = article_path(newsroom.corpus_dir, LOGISTICS["id"]).name
        assert own in opened and {name for name in opened if not name.startswith(".")} == {own}
        assert len(store.read_manifest().delta) == deltas + 1  # one segment more: no rebuild
        assert "Bài mới trong kho tin" in notice["text"] and LOGISTICS["title"] in notice["text"]
        bot.api.send_text(GROUP, LAN, "/ask Trung tâm logistics tại cửa khẩu Hữu Nghị có vốn đầu tư bao nhiêu?")
        answer = await bot.api.next_message(GROUP.id, WAIT_S)
        assert "3.000 tỷ đồng" in answer["text"] and LOGISTICS["title"] in answer["text"]

        await nothing_more_is_sent(bot)
        assert len(sent_to(bot.api, GROUP.id)) == 3  # "/subscribe" answered, one notification, the answer


async def test_articles_indexed_while_the_bot_was_down_are_announced_once_it_is_back(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)

    await asyncio.to_thread(newsroom.ingest_elsewhere, TOURISM)  # nobody is running

    async with newsroom.running() as bot:
        notice = await bot.api.next_message(GROUP.id, WAIT_S)
        assert TOURISM["title"] in notice["text"]

    async with newsroom.running() as bot:  # and after another restart, nothing again
        await nothing_more_is_sent(bot)
    assert [TOURISM["title"] in t for t in sent_to(newsroom.api, GROUP.id)] == [False, True]


async def test_a_bot_stopped_after_indexing_but_before_sending_sends_after_restart_exactly_once(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)
        # The process dies right after the outbox rows are committed: nothing is sent.
        with monkeypatch.context() as patched:
            patched.setattr(Notifier, "deliver", killed)
            await asyncio.to_thread(newsroom.ingest_elsewhere, TEA)
            await bot.deps.notifier.index_changed(bot.application.bot)
            assert [row["status"] for row in bot.deps.outbox.rows(GROUP.id)] == ["pending"]
    assert len(sent_to(newsroom.api, GROUP.id)) == 1

    async with newsroom.running() as bot:
        notice = await bot.api.next_message(GROUP.id, WAIT_S)
        assert TEA["title"] in notice["text"]
        await nothing_more_is_sent(bot)
        assert [row["status"] for row in bot.deps.outbox.rows(GROUP.id)] == ["sent"]

    async with newsroom.running() as bot:
        await nothing_more_is_sent(bot)
    assert len(sent_to(newsroom.api, GROUP.id)) == 2


async def announced_after_one_failure(newsroom: Newsroom, harness: BotHarness, **failure: int) -> None:
    """GROUP subscribes, the next message fails as ``failure`` says, then LOGISTICS comes in
    elsewhere: its notification gets through all the same, and nothing more is due."""
    await subscribe(harness, GROUP, LAN)
    harness.api.fail_next("sendMessage", times=1, **failure)
    await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS)

    notice = await harness.api.next_message(GROUP.id, WAIT_S)
    await nothing_more_is_sent(harness)

    assert LOGISTICS["title"] in notice["text"]


async def test_a_429_is_waited_out_and_the_notification_delivered_once(newsroom: Newsroom) -> None:
    async with newsroom.running(**FAST) as bot:
        await announced_after_one_failure(newsroom, bot, retry_after=1)

        assert [c.status for c in bot.api.calls_to("sendMessage", GROUP.id, ok=False)] == [429]
        assert len(sent_to(bot.api, GROUP.id)) == 2


async def test_a_network_failure_is_retried_later_and_delivered_once(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications.notifier, "RETRY_BASE_S", 0.2)
    # Past the rate limiter's own quick retries (here: none), the outbox retries later.
    monkeypatch.setattr(bot.app, "RetryingRateLimiter", functools.partial(RetryingRateLimiter, network_retries=0))
    async with newsroom.running(**FAST) as harness:
        await announced_after_one_failure(newsroom, harness, status=502)

        [row] = harness.deps.outbox.rows(GROUP.id)
        assert (row["status"], row["attempts"]) == ("sent", 1)
        assert len(sent_to(harness.api, GROUP.id)) == 2


@pytest.mark.parametrize(
    ("gone", "reason"),
    [("block_chat", "Forbidden: bot was kicked from the supergroup chat"), ("delete_chat", "chat not found")],
)
async def test_a_chat_that_removed_the_bot_or_no_longer_exists_is_unsubscribed(
    newsroom: Newsroom, gone: str, reason: str
) -> None:
    async with newsroom.running(**FAST) as bot:
        await subscribe(bot, GROUP, LAN)
        await subscribe(bot, GROUP_2, BINH)
        if gone == "block_chat":
            bot.api.block_chat(GROUP.id, reason)
        else:
            bot.api.delete_chat(GROUP.id)
        await asyncio.to_thread(newsroom.ingest_elsewhere, LOGISTICS)

        await bot.api.next_message(GROUP_2.id, WAIT_S)  # the other group still hears of it
        await nothing_more_is_sent(bot)
        refused = bot.api.calls_to("sendMessage", GROUP.id, ok=False)

        assert len(refused) == 1 and reason in refused[0].description
        assert not bot.deps.subscriptions.is_subscribed(GROUP.id)
        assert [row["status"] for row in bot.deps.outbox.rows(GROUP.id)] == ["dropped"]

        await asyncio.to_thread(newsroom.ingest_elsewhere, TEA)
        await bot.api.next_message(GROUP_2.id, WAIT_S)
        assert len(bot.api.calls_to("sendMessage", GROUP.id, ok=None)) == 2  # /subscribe reply + the refusal


async def test_status_shows_subscribers_and_pending_notifications(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)
        await subscribe(bot, GROUP_2, BINH)
        bot.api.block_chat(GROUP_2.id)
        bot.deps.notifier.deliver = killed.__get__(bot.deps.notifier)  # type: ignore[method-assign]
        await asyncio.to_thread(newsroom.ingest_elsewhere, TEA)
        await bot.deps.notifier.index_changed(bot.application.bot)

        status = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")
        assert "Thông báo: 2 nơi đăng ký, 2 tin chờ gửi" in status["text"]
        assert "Thư mục bài: không theo dõi" in status["text"]
        assert "Nguồn RSS/Atom: chưa cấu hình" in status["text"]
