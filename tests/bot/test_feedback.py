"""Feedback admins can act on: a 👎 asks why (wrong quote / not answered / outdated, or no
answer at all), the reason is stored with the vote, ``/feedback`` lists the latest 👎 for
admins, and ``/status`` and ``/metrics`` count them by reason."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from bot.testing.fake_bot_api import buttons
from storage.records import FeedbackReason
from tests.bot_harness import (
    ADMIN,
    BINH,
    GROUP,
    LAN,
    MOU,
    PRIVATE_ADMIN,
    PRIVATE_BINH,
    PRIVATE_LAN,
    QUESTION,
    WAIT_S,
    BotHarness,
)

REASONS = ["Sai trích dẫn", "Không trả lời câu hỏi", "Thông tin cũ"]


async def dislike(bot: BotHarness, user: Any, answer: dict[str, Any]) -> dict[str, Any]:
    """``user`` taps 👎 under ``answer``; the question that follows, asking why."""
    bot.api.press_button(user, answer, "👎")
    return await bot.api.next_message(answer["chat"]["id"], WAIT_S)


async def test_a_dislike_asks_why_and_the_reason_chosen_is_stored_with_the_vote(bot: BotHarness) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    why = await dislike(bot, LAN, answer)

    assert "vì sao" in why["text"] and "không bắt buộc" in why["text"]
    assert list(buttons(why)) == REASONS
    thanks = await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)
    assert "Cảm ơn" in thanks.params["text"]
    [before] = await asyncio.to_thread(bot.deps.feedback.recent)
    assert (before.vote.vote, before.vote.reason) == (-1, None)  # stored before any reason is given

    bot.api.press_button(LAN, why, "Thông tin cũ")
    edited = await bot.api.next_call("editMessageText", PRIVATE_LAN.id, WAIT_S)

    assert edited.result["text"] == "👎 Cảm ơn bạn! Đã ghi nhận lý do: thông tin cũ."
    assert "reply_markup" not in edited.result  # the reasons are gone: chosen once
    [stored] = await asyncio.to_thread(bot.deps.feedback.recent)
    assert stored.vote.reason == FeedbackReason.OUTDATED
    assert (stored.vote.question, stored.vote.first_quote, stored.vote.vote) == (QUESTION, MOU, -1)
    assert (stored.vote.chat_id, stored.vote.user_id) == (PRIVATE_LAN.id, LAN.id)


async def test_in_a_group_a_reason_counts_for_whoever_gives_it(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"/ask {QUESTION}")
    answer = await bot.api.next_message(GROUP.id, WAIT_S)
    why = await dislike(bot, LAN, answer)
    assert why["reply_to_message"]["message_id"] == answer["message_id"]  # which answer it is about

    bot.api.press_button(BINH, why, "Sai trích dẫn")
    await bot.api.next_call("editMessageText", GROUP.id, WAIT_S)

    votes = await asyncio.to_thread(bot.deps.feedback.recent)
    assert sorted((v.vote.user_id, v.vote.reason) for v in votes) == [
        (LAN.id, None),
        (BINH.id, FeedbackReason.WRONG_QUOTE),
    ]


async def test_admins_list_the_latest_dislikes_with_question_first_quote_and_reason(bot: BotHarness) -> None:
    first = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
    why = await dislike(bot, LAN, first)
    bot.api.press_button(LAN, why, "Không trả lời câu hỏi")
    await bot.api.next_call("editMessageText", PRIVATE_LAN.id, WAIT_S)
    second = await bot.ask_private(BINH, PRIVATE_BINH, "Hợp tác <du lịch> ra sao?")
    await dislike(bot, BINH, second)  # no reason given
    liked = await bot.ask_private(BINH, PRIVATE_BINH, "Câu hỏi được khen")
    bot.api.press_button(BINH, liked, "👍")
    for _ in range(4):  # 👎, its reason, 👎, 👍: each stored before it is acknowledged
        await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)

    refused = await bot.ask_private(LAN, PRIVATE_LAN, "/feedback")
    listing = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/feedback")

    assert "chỉ dành cho quản trị viên" in refused["text"]
    text = listing["text"]
    assert "2 góp ý chưa hài lòng gần nhất" in text and "Câu hỏi được khen" not in text
    assert "Góp ý 👎: 2 (sai trích dẫn 0, không trả lời câu hỏi 1, thông tin cũ 0, không nêu lý do 1)" in text
    newer, older = text.split("\n\n")[1:]
    assert newer.startswith("1. ") and "lý do: không nêu lý do" in newer and "🔎 Hợp tác <du lịch> ra sao?" in newer
    assert older.startswith("2. ") and "lý do: không trả lời câu hỏi" in older
    assert f"🔎 {QUESTION}" in older and f"«{MOU}»" in older

    one = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/feedback 1")
    assert "1 góp ý chưa hài lòng gần nhất" in one["text"] and QUESTION not in one["text"]


async def test_status_counts_dislikes_by_reason(bot: BotHarness) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
    why = await dislike(bot, LAN, answer)
    bot.api.press_button(LAN, why, "Sai trích dẫn")
    await bot.api.next_call("editMessageText", PRIVATE_LAN.id, WAIT_S)

    status = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")

    assert "Góp ý 👎: 1 (sai trích dẫn 1, không trả lời câu hỏi 0, thông tin cũ 0, không nêu lý do 0)" in status["text"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_metrics_count_dislikes_by_reason(start_bot: Any) -> None:
    port = free_port()
    async with start_bot(metrics_port=port, telegram_webhook_listen="127.0.0.1") as bot:
        for reason in ("Thông tin cũ", "Thông tin cũ", None):
            answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
            why = await dislike(bot, LAN, answer)
            if reason is not None:
                bot.api.press_button(LAN, why, reason)
                await bot.api.next_call("editMessageText", PRIVATE_LAN.id, WAIT_S)

        async with httpx.AsyncClient(timeout=WAIT_S) as client:
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")

    lines = set(metrics.text.splitlines())
    assert {
        'hoptac_feedback_dislikes{reason="outdated"} 2.0',
        'hoptac_feedback_dislikes{reason="none"} 1.0',
        'hoptac_feedback_dislikes{reason="wrong_quote"} 0.0',
        'hoptac_feedback_dislikes{reason="not_answered"} 0.0',
    } <= lines
