"""``/latest [n]``: the newest indexed articles, newest first, with date, source and link."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from bot.testing.fake_bot_api import entity_texts
from retrieval.models import Article
from tests.bot_harness import ARTICLE, GROUP, LAN, PRIVATE_LAN, WAIT_S, BotHarness, FakeEngine

VIETNAM = timezone(timedelta(hours=7))


def article(number: int, year: int, month: int, *, url: str | None = None, source: str = "Báo Ninh Bình") -> Article:
    return dataclasses.replace(
        ARTICLE,
        id=f"bai-{number}",
        title=f"Bài {number}: hợp tác du lịch <Ninh Bình - Thanh Hóa>",
        published=datetime(year, month, 1, 8, 0, tzinfo=VIETNAM),
        source=source,
        url=url,
    )


def give_articles(engine: FakeEngine) -> None:
    """Seven articles, in no date order; only the 2024 one without a URL."""
    engine.catalogue = [
        article(1, 2021, 3, url="https://example.org/1"),
        article(2, 2025, 8, url="https://example.org/2"),
        article(3, 2019, 1, url="https://example.org/3"),
        article(4, 2024, 5),
        article(5, 2023, 11, url="https://example.org/5", source="Báo Thanh Hóa"),
        article(6, 2022, 7, url="https://example.org/6"),
        article(7, 2020, 2, url="https://example.org/7"),
    ]


def listed(message: dict[str, object]) -> list[str]:
    """The numbered lines of a /latest reply."""
    return [line for line in str(message["text"]).splitlines() if line[:1].isdigit()]


async def test_latest_lists_the_five_newest_articles_newest_first_with_date_title_and_source(
    bot: BotHarness,
) -> None:
    give_articles(bot.engine)

    reply = await bot.ask_private(LAN, PRIVATE_LAN, "/latest")

    assert "5 bài mới nhất" in reply["text"] and "trong 7 bài" in reply["text"]
    assert listed(reply) == [
        "1. 01/08/2025 — Bài 2: hợp tác du lịch <Ninh Bình - Thanh Hóa> — Báo Ninh Bình",
        "2. 01/05/2024 — Bài 4: hợp tác du lịch <Ninh Bình - Thanh Hóa> — Báo Ninh Bình",
        "3. 01/11/2023 — Bài 5: hợp tác du lịch <Ninh Bình - Thanh Hóa> — Báo Thanh Hóa",
        "4. 01/07/2022 — Bài 6: hợp tác du lịch <Ninh Bình - Thanh Hóa> — Báo Ninh Bình",
        "5. 01/03/2021 — Bài 1: hợp tác du lịch <Ninh Bình - Thanh Hóa> — Báo Ninh Bình",
    ]
    links = [e["url"] for e in reply.get("entities", []) if e["type"] == "text_link"]
    assert links == ["https://example.org/2", "https://example.org/5", "https://example.org/6", "https://example.org/1"]
    assert entity_texts(reply, "text_link")[0] == "Bài 2: hợp tác du lịch <Ninh Bình - Thanh Hóa>"


async def test_latest_n_lists_n_articles_and_at_most_twenty(bot: BotHarness) -> None:
    give_articles(bot.engine)

    two = await bot.ask_private(LAN, PRIVATE_LAN, "/latest 2")
    many = await bot.ask_private(LAN, PRIVATE_LAN, "/latest 500")

    assert [line[:13] for line in listed(two)] == ["1. 01/08/2025", "2. 01/05/2024"]
    assert len(listed(many)) == 7 and listed(many)[-1].startswith("7. 01/01/2019")
    assert "tối đa 20 bài" in many["text"]


async def test_latest_with_a_word_instead_of_a_number_says_how(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, "/latest mười")

    assert "từ 1 đến 20" in reply["text"] and "/latest 10" in reply["text"]


async def test_latest_works_in_groups_addressed_to_the_bot(bot: BotHarness) -> None:
    give_articles(bot.engine)

    bot.api.send_text(GROUP, LAN, f"/latest@{bot.api.bot.username} 3")
    reply = await bot.api.next_message(GROUP.id, WAIT_S)

    assert [line[:13] for line in listed(reply)] == ["1. 01/08/2025", "2. 01/05/2024", "3. 01/11/2023"]
