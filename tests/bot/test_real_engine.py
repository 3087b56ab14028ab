"""End to end with the real answer engine over the repository's corpus (needs the model)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.testing.fake_bot_api import FakeBotApi, buttons
from tests.bot_harness import LAN, PRIVATE_LAN, make_settings, running_bot

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
        assert {"📄 Nguồn đầy đủ", "➕ Thêm kết quả", "👍", "👎"} == set(buttons(reply))

        bot.api.press_button(LAN, reply, "➕ Thêm kết quả")
        more = await bot.api.next_message(PRIVATE_LAN.id)
        assert more["text"].startswith("🔎 Cầu Đồng Việt nối những địa phương nào?")
        for quote in re.findall(r"\[\d+\] «(.+?)»\n", more["text"]):
            assert quote in article.text and quote not in quotes
