"""Inline mode through the fake Bot API: ``@bot câu hỏi`` in any chat answers
``answerInlineQuery`` with results (the first quote and its source as the preview);
choosing one posts the formatted answer; identical queries share one engine call; the
per-user question limit holds; an empty or short query gets a hint, not an error."""

from __future__ import annotations

from bot.testing.fake_bot_api import buttons, entity_texts
from tests.bot_harness import (
    ARTICLE,
    BINH,
    EXCHANGE,
    GROUP,
    LAN,
    MOU,
    NOT_IN_CORPUS,
    PRIVATE_LAN,
    QUESTION,
    TRANSPORT,
    WAIT_S,
    BotHarness,
)


async def test_a_question_lists_the_answer_with_its_first_quote_and_source(bot: BotHarness) -> None:
    answer = await bot.api.inline_answer(bot.api.send_inline_query(LAN, QUESTION), WAIT_S)

    [result] = answer["results"]  # the one article cited
    assert result["title"] == ARTICLE.title
    assert result["description"] == f"«{MOU}»\nBáo Hải Dương, 05/10/2019"
    assert "button" not in answer and answer["cache_time"] == 60
    page = bot.deps.pages.get(result["id"])  # kept in the state store, for any replica
    assert page is not None and [c.sentence for c in page.citations] == [MOU, EXCHANGE, TRANSPORT]


async def test_the_chosen_result_posts_the_formatted_answer_with_its_citation_and_link(bot: BotHarness) -> None:
    answer = await bot.api.inline_answer(bot.api.send_inline_query(BINH, QUESTION), WAIT_S)
    [result] = answer["results"]

    posted = bot.api.choose_inline_result(BINH, GROUP, answer, result["id"])

    text = posted["text"]
    assert text.startswith(f"🔎 {QUESTION}\n\n[1] «{MOU}»")
    assert f"[3] «{TRANSPORT}»" in text
    assert text.endswith(f"— {ARTICLE.title}, Báo Hải Dương, 05/10/2019")
    links = [e["url"] for e in posted["entities"] if e["type"] == "text_link"]
    assert ARTICLE.url in links
    labels = buttons(posted)
    assert list(labels) == ["📰 Đọc bài báo", "💬 Xem thêm trong bot"]
    url_buttons = [b for row in posted["reply_markup"]["inline_keyboard"] for b in row]
    assert url_buttons[0]["url"] == ARTICLE.url
    assert url_buttons[1]["url"] == f"https://t.me/hoptac_test_bot?start=a_{result['id']}"
    assert entity_texts(posted, "text_link")  # the article title, linked


async def test_the_open_in_bot_button_brings_the_answer_with_its_buttons(bot: BotHarness) -> None:
    answer = await bot.api.inline_answer(bot.api.send_inline_query(LAN, QUESTION), WAIT_S)
    [result] = answer["results"]

    reply = await bot.ask_private(LAN, PRIVATE_LAN, f"/start a_{result['id']}")
    stale = await bot.ask_private(LAN, PRIVATE_LAN, "/start a_khongco")

    assert MOU in reply["text"] and "📄 Nguồn đầy đủ" in buttons(reply)
    assert "đã cũ" in stale["text"]


async def test_identical_queries_within_the_window_share_one_engine_call(bot: BotHarness) -> None:
    first = await bot.api.inline_answer(bot.api.send_inline_query(LAN, QUESTION), WAIT_S)
    again = await bot.api.inline_answer(bot.api.send_inline_query(BINH, f"  {QUESTION.upper()} "), WAIT_S)

    assert [q for q, _, _ in bot.engine.asked] == [QUESTION]
    assert again["results"] == first["results"]


async def test_inline_queries_count_against_the_users_question_limit(start_bot) -> None:  # type: ignore[no-untyped-def]
    async with start_bot(bot_rate_limit_questions=1) as bot:
        allowed = await bot.api.inline_answer(bot.api.send_inline_query(LAN, QUESTION), WAIT_S)
        refused = await bot.api.inline_answer(bot.api.send_inline_query(LAN, "Hai tỉnh hợp tác giao thông ra sao?"))
        cached = await bot.api.inline_answer(bot.api.send_inline_query(LAN, QUESTION), WAIT_S)  # no engine call

        assert allowed["results"] and cached["results"] == allowed["results"]
        assert refused["results"] == [] and refused["is_personal"] is True
        assert refused["button"]["text"].startswith("⏳ Bạn đang hỏi hơi nhanh")
        assert len(bot.engine.asked) == 1


async def test_an_empty_or_short_query_gets_a_hint_and_no_results(bot: BotHarness) -> None:
    for typed in ("", "hd?"):
        answer = await bot.api.inline_answer(bot.api.send_inline_query(LAN, typed), WAIT_S)
        assert answer["results"] == []
        assert answer["button"] == {
            "text": "✍️ Gõ câu hỏi sau tên bot, ví dụ: Hải Dương hợp tác gì?",
            "start_parameter": "inline",
        }
    not_found = await bot.api.inline_answer(bot.api.send_inline_query(LAN, f"Có gì trên {NOT_IN_CORPUS}?"))

    assert not_found["results"] == [] and "Không tìm thấy" in not_found["button"]["text"]
    assert [q for q, _, _ in bot.engine.asked] == [f"Có gì trên {NOT_IN_CORPUS}?"]
