"""End to end with the real answer engine over the repository's corpus (needs the model)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.testing.fake_bot_api import FakeBotApi, buttons
from markup.catalogue import CAPTION, LESS_RELATED
from tests.bot_harness import LAN, PRIVATE_LAN, make_settings, running_bot
from tests.retrieval.answering.test_places_and_dates import BRIDGE_NOTES

pytestmark = pytest.mark.model


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("real_engine")  # tests/conftest.py: real model, copy of corpus/
    except NotImplementedError:
        pytest.skip("the answer engine is still a stub")


async def test_a_real_question_gets_quotes_that_are_exact_sentences_of_the_corpus(
    fake_api: FakeBotApi, engine: Any, tmp_path: Path
) -> None:
    article = engine.latest_articles(1)[0]
    async with running_bot(fake_api, engine, make_settings(fake_api.url, tmp_path)) as bot:
        reply = await bot.ask_private(LAN, PRIVATE_LAN, "Cầu Đồng Việt nối những địa phương nào?")

        quotes = re.findall(r"\[\d+\] «(.+?)»\n", reply["text"])
        assert quotes, reply["text"]
        for quote in quotes:
            assert quote in article.text
        assert "Đồng Việt" in quotes[0]

        bot.api.press_button(LAN, reply, "📄 Nguồn đầy đủ")
        sources = await bot.api.next_message(PRIVATE_LAN.id)
        assert quotes[0] in sources["text"]
        # No other sentence of the article passes the found decision: nothing more to offer.
        assert engine.ask("Cầu Đồng Việt nối những địa phương nào?", offset=1).found is False
        assert {"📄 Nguồn đầy đủ", "👍", "👎"} == set(buttons(reply))
        # The notes: one line under the quote, for the units its sentence names.
        assert f"«{quotes[0]}»\n{BRIDGE_NOTES}\n— " in reply["text"]


async def test_more_results_go_on_with_accepted_sentences_the_weaker_marked_until_none_is_left(
    fake_api: FakeBotApi, engine: Any, tmp_path: Path
) -> None:
    question = "Ai phát biểu tại hội nghị?"
    async with running_bot(fake_api, engine, make_settings(fake_api.url, tmp_path)) as bot:
        first = await bot.ask_private(LAN, PRIVATE_LAN, question)
        assert LESS_RELATED.say() not in first["text"]  # the first page is the answer itself
        # Two of its quotes are photo captions of the article, marked as such; the one naming
        # Bắc Giang (and no other unit) gets exactly that note.
        answer = engine.ask(question)
        captions = [c for c in answer.citations if c.is_caption]
        assert len(captions) == 2
        closing = "»" if answer.confidence == "high" else ""  # only related: in italics, no «»
        for caption in captions:
            assert f"{caption.sentence}{closing} {CAPTION.say()}\n" in first["text"]
        note = "Bắc Giang nay thuộc tỉnh Bắc Ninh"
        naming = next(c for c in captions if "Bắc Giang" in c.sentence)
        assert f"{naming.sentence}{closing} {CAPTION.say()}\n{note}\n— " in first["text"]
        assert "➕ Thêm kết quả" in buttons(first)

        bot.api.press_button(LAN, first, "➕ Thêm kết quả")
        more = await bot.api.next_message(PRIVATE_LAN.id)
        shown = engine.ask(question, offset=3).citations
        assert shown and all(c.less_related for c in shown)  # below the first quotes' margin
        heading = more["text"].index(LESS_RELATED.say())
        for number, citation in enumerate(shown, 4):
            ending = f" {CAPTION.say()}\n" if citation.is_caption else "\n"
            assert more["text"].index(f"[{number}] {citation.sentence}{ending}") > heading  # in italics, no «»
        assert "➕ Thêm kết quả" not in buttons(more)  # nothing the found decision accepts is left
        assert engine.ask(question, offset=3 + len(shown)).found is False
