"""Questions in private chats and groups: who gets an answer, and what it looks like."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_bot_api import buttons, entity_texts
from tests.bot_harness import (
    ARTICLE,
    BINH,
    EXCHANGE,
    GROUP,
    LAN,
    MOU,
    NOT_IN_CORPUS,
    PRIVATE_BINH,
    PRIVATE_LAN,
    QUESTION,
    TRANSPORT,
    WAIT_S,
    WHOLE_ARTICLE,
    BotHarness,
    article_sentences,
)

BOT = "@hoptac_test_bot"


def answered_questions(bot: BotHarness) -> list[str]:
    return [question for question, _limit, _offset in bot.engine.asked]


async def test_private_question_gets_numbered_exact_quotes_with_sources(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    text = reply["text"]
    for number, sentence in enumerate((MOU, EXCHANGE, TRANSPORT), 1):
        assert f"[{number}] «{sentence}»" in text
        assert ARTICLE.text[ARTICLE.text.index(sentence) :].startswith(sentence)
    assert text.count(f"— {ARTICLE.title}, Báo Hải Dương, 05/10/2019") == 3
    links = [e for e in reply["entities"] if e["type"] == "text_link"]
    assert {e["url"] for e in links} == {ARTICLE.url}
    assert set(buttons(reply)) == {"📄 Nguồn đầy đủ", "➕ Thêm kết quả", "👍", "👎"}
    assert bot.api.calls_to("sendChatAction", PRIVATE_LAN.id) == []  # a quick answer needs no "typing…"
    assert answered_questions(bot) == [QUESTION]


async def test_group_chatter_gets_silence_and_only_addressed_questions_are_answered(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, "Chiều nay họp lúc mấy giờ?")
    other = bot.api.send_text(GROUP, BINH, "3 giờ nhé")
    bot.api.send_text(GROUP, LAN, "Đúng rồi", reply_to=other)
    bot.api.send_text(GROUP, LAN, f"/ask@other_bot {QUESTION}")
    bot.api.send_sticker(GROUP, BINH)
    asked = bot.api.send_text(GROUP, BINH, f"/ask{BOT} {QUESTION}")

    reply = await bot.api.next_message(GROUP.id, WAIT_S)

    assert reply["reply_to_message"]["message_id"] == asked["message_id"]
    assert MOU in reply["text"]
    assert answered_questions(bot) == [QUESTION]
    assert len(bot.api.calls_to("sendMessage", GROUP.id)) == 1


async def test_group_ask_command_without_bot_name_is_answered(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"/ask {QUESTION}")

    reply = await bot.api.next_message(GROUP.id, WAIT_S)

    assert MOU in reply["text"]
    assert answered_questions(bot) == [QUESTION]


async def test_group_mention_is_answered_without_the_mention(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"{BOT} {QUESTION}")
    first = await bot.api.next_message(GROUP.id, WAIT_S)
    bot.api.send_text(GROUP, BINH, f"Cho mình hỏi {BOT}, hai tỉnh hợp tác giao thông thế nào?")
    second = await bot.api.next_message(GROUP.id, WAIT_S)

    assert MOU in first["text"] and MOU in second["text"]
    assert answered_questions(bot) == [QUESTION, "Cho mình hỏi hai tỉnh hợp tác giao thông thế nào?"]


async def test_reply_to_the_bot_in_a_group_is_a_question(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"/ask {QUESTION}")
    answer = await bot.api.next_message(GROUP.id, WAIT_S)

    bot.api.send_text(GROUP, BINH, "Còn về giao thông thì sao?", reply_to=answer)
    follow_up = await bot.api.next_message(GROUP.id, WAIT_S)

    assert follow_up["text"].startswith("🔎 Còn về giao thông thì sao?")
    assert answered_questions(bot) == [QUESTION, "Còn về giao thông thì sao?"]


async def test_html_and_markdown_in_a_question_are_shown_literally(bot: BotHarness) -> None:
    question = "Vì sao <b>Hải Dương</b> & Bắc Giang *hợp tác* <script>x</script>?"

    reply = await bot.ask_private(LAN, PRIVATE_LAN, question)

    assert reply["text"].startswith(f"🔎 {question}")
    assert bot.api.calls_to("sendMessage", ok=False) == []
    assert entity_texts(reply, "bold")[0] == question
    assert answered_questions(bot) == [question]


async def test_overlong_question_is_refused_with_a_reason(bot: BotHarness) -> None:
    question = ("Hải Dương " * 500)[:-1] + "?"
    reply = await bot.ask_private(LAN, PRIVATE_LAN, question)

    assert len(question) == 5000
    assert "5000 ký tự" in reply["text"] and "ngắn gọn" in reply["text"]
    assert bot.engine.asked == []


async def test_sticker_in_private_gets_a_hint(bot: BotHarness) -> None:
    bot.api.send_sticker(PRIVATE_LAN, LAN)

    reply = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    assert "bằng chữ" in reply["text"]
    assert bot.engine.asked == []


async def test_ask_without_a_question_shows_how_to_ask(bot: BotHarness) -> None:
    bot.api.send_text(GROUP, LAN, f"/ask{BOT}")
    by_command = await bot.api.next_message(GROUP.id, WAIT_S)
    bot.api.send_text(GROUP, LAN, BOT)
    by_mention = await bot.api.next_message(GROUP.id, WAIT_S)

    for reply in (by_command, by_mention):
        assert "/ask" in reply["text"] and "ví dụ" in reply["text"]
    assert bot.engine.asked == []


async def test_unknown_command_in_private_points_to_help(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, "/xoa_het")

    assert "/help" in reply["text"]


async def test_edited_question_is_answered_again_in_private_but_not_in_groups(bot: BotHarness) -> None:
    group_message = bot.api.send_text(GROUP, LAN, f"/ask {QUESTION}")
    await bot.api.next_message(GROUP.id, WAIT_S)
    private_message = bot.api.send_text(PRIVATE_LAN, LAN, "Hải Dương ký gì")
    await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    bot.api.edit_text(group_message, f"/ask {QUESTION} (sửa)")
    bot.api.edit_text(private_message, QUESTION)
    corrected = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    assert corrected["text"].startswith(f"🔎 {QUESTION}")
    assert answered_questions(bot) == [QUESTION, "Hải Dương ký gì", QUESTION]
    assert len(bot.api.calls_to("sendMessage", GROUP.id)) == 1


async def test_not_found_is_short_honest_and_hints_at_the_corpus(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, f"Hải Dương có hợp tác với {NOT_IN_CORPUS} không?")

    text = reply["text"]
    assert "Không tìm thấy câu trả lời trong các bài báo hiện có (1 bài)." in text
    assert "lập chỉ mục" not in text
    assert ARTICLE.title in text
    assert "reply_markup" not in reply
    assert len(text) < 600


async def test_long_answer_is_split_under_the_limit_with_buttons_on_the_last_part(bot: BotHarness) -> None:
    bot.api.send_text(PRIVATE_LAN, LAN, f"Tóm tắt {WHOLE_ARTICLE}")

    parts: list[dict[str, Any]] = []
    while not parts or "reply_markup" not in parts[-1]:
        parts.append(await bot.api.next_message(PRIVATE_LAN.id, WAIT_S))

    assert len(parts) >= 2
    assert all(len(p["text"]) <= 4096 for p in parts)
    assert bot.api.calls_to("sendMessage", ok=False) == []
    whole = "\n".join(p["text"] for p in parts)
    for sentence in article_sentences():
        assert f"«{sentence}»" in whole


async def test_each_user_has_a_question_limit(start_bot: Any) -> None:
    async with start_bot(bot_rate_limit_questions=2) as bot:
        for _ in range(2):
            await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
        refused = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
        bot.api.send_text(PRIVATE_LAN, LAN, QUESTION)  # still refused, and now quietly
        other_user = await bot.ask_private(BINH, PRIVATE_BINH, QUESTION)

        assert "hỏi hơi nhanh" in refused["text"]
        assert MOU in other_user["text"]
        assert len(bot.api.calls_to("sendMessage", PRIVATE_LAN.id)) == 3
        assert len(bot.engine.asked) == 3
