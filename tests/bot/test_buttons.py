"""The buttons under an answer: full source, more results, 👍/👎."""

from __future__ import annotations

import sqlite3

from bot.testing.fake_bot_api import buttons, entity_texts
from tests.bot_harness import (
    ARTICLE,
    BINH,
    EXCHANGE,
    GROUP,
    LAN,
    MOU,
    PLANNING,
    PRIVATE_LAN,
    QUESTION,
    TRANSPORT,
    UNESCO,
    WAIT_S,
    BotHarness,
)


def paragraph_of(sentence: str) -> str:
    return next(p for p in ARTICLE.text.split("\n\n") if sentence in p).strip()


async def test_full_source_shows_each_cited_sentence_in_its_whole_paragraph(bot: BotHarness) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    query_id = bot.api.press_button(LAN, answer, "📄 Nguồn đầy đủ")
    sources = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    text = sources["text"]
    assert paragraph_of(MOU) == paragraph_of(EXCHANGE)  # one paragraph, shown once for [1, 2]
    assert f"[1, 2] {ARTICLE.title}" in text and f"[3] {ARTICLE.title}" in text
    assert paragraph_of(MOU) in text and paragraph_of(TRANSPORT) in text
    assert {MOU, EXCHANGE, TRANSPORT} <= set(entity_texts(sources, "bold"))
    answered = bot.api.calls_to("answerCallbackQuery")
    assert [call.params["callback_query_id"] for call in answered] == [query_id]


async def test_more_results_continues_the_numbering_for_the_same_question(bot: BotHarness) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    bot.api.press_button(LAN, answer, "➕ Thêm kết quả")
    more = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    assert f"[4] «{UNESCO}»" in more["text"] and f"[5] «{PLANNING}»" in more["text"]
    assert MOU not in more["text"]
    assert bot.engine.asked[-1] == (QUESTION, 3, 3)
    assert "➕ Thêm kết quả" not in buttons(more)  # a page that was not full is the last one


async def test_buttons_work_for_anyone_in_a_group(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"/ask {QUESTION}")
    answer = await bot.api.next_message(GROUP.id, WAIT_S)

    bot.api.press_button(BINH, answer, "➕ Thêm kết quả")
    more = await bot.api.next_message(GROUP.id, WAIT_S)

    assert UNESCO in more["text"]
    assert more["reply_to_message"]["message_id"] == answer["message_id"]


async def test_feedback_is_stored_with_the_question_and_a_second_vote_replaces_the_first(
    bot: BotHarness,
) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    bot.api.press_button(LAN, answer, "👍")
    thanks = await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)
    bot.api.press_button(LAN, answer, "👎")
    await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)

    assert "Cảm ơn" in thanks.params["text"]
    with sqlite3.connect(bot.deps.config.database_path) as db:
        rows = db.execute("SELECT question, vote, chat_id, user_id, citations FROM feedback").fetchall()
    assert len(rows) == 1
    question, vote, chat_id, user_id, citations = rows[0]
    assert (question, vote, chat_id, user_id) == (QUESTION, -1, PRIVATE_LAN.id, LAN.id)
    assert ARTICLE.id in citations


async def test_a_button_the_bot_no_longer_remembers_asks_to_ask_again(bot: BotHarness) -> None:
    answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
    bot.deps.pages.clear()  # as after a restart

    bot.api.press_button(LAN, answer, "➕ Thêm kết quả")
    reply = await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)

    assert "hỏi lại" in reply.params["text"]
    assert len(bot.engine.asked) == 1
