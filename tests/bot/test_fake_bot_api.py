"""The fake Bot API itself: long polling that wakes at once, and Telegram's refusals."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.testing.fake_bot_api import FakeBotApi
from bot.testing.telegram_html import EntityParseError, parse_html
from tests.bot_harness import LAN, PRIVATE_LAN, TOKEN


async def test_long_poll_wakes_on_an_update_and_does_not_block_other_calls(fake_api: FakeBotApi) -> None:
    base = f"{fake_api.url}/bot{TOKEN}"
    async with httpx.AsyncClient(timeout=10) as client:
        poll = asyncio.create_task(client.post(f"{base}/getUpdates", data={"timeout": "30"}))
        me = await asyncio.wait_for(client.post(f"{base}/getMe"), 2)
        fake_api.send_text(PRIVATE_LAN, LAN, "/start")
        updates = (await asyncio.wait_for(poll, 2)).json()

    assert me.json()["result"]["username"] == "hoptac_test_bot"
    assert updates["ok"] and updates["result"][0]["message"]["entities"][0]["type"] == "bot_command"


async def test_refusals_look_like_telegrams(fake_api: FakeBotApi) -> None:
    fake_api.send_text(PRIVATE_LAN, LAN, "xin chào")
    base = f"{fake_api.url}/bot{TOKEN}"
    async with httpx.AsyncClient(timeout=10) as client:
        bad_html = await client.post(
            f"{base}/sendMessage", data={"chat_id": str(LAN.id), "text": "<b>x", "parse_mode": "HTML"}
        )
        too_long = await client.post(f"{base}/sendMessage", data={"chat_id": str(LAN.id), "text": "á" * 4097})
        fake_api.fail_next("sendMessage", retry_after=3)
        flood = await client.post(f"{base}/sendMessage", data={"chat_id": str(LAN.id), "text": "a"})
        wrong_token = await client.post(f"{fake_api.url}/bot1:{'x' * 35}/getMe")

    assert bad_html.status_code == 400
    assert bad_html.json()["description"].startswith("Bad Request: can't parse entities")
    assert too_long.json()["description"] == "Bad Request: message is too long"
    assert flood.status_code == 429 and flood.json()["parameters"] == {"retry_after": 3}
    assert wrong_token.status_code == 401


def test_html_errors_give_the_utf8_byte_offset_as_telegram_does() -> None:
    with pytest.raises(EntityParseError, match=r'Unsupported start tag "x" at byte offset 14$'):
        parse_html("Hải Dương <x>")  # "Hải Dương " is 14 bytes in UTF-8
    with pytest.raises(EntityParseError, match=r'HTML entity "&foo;" at byte offset 15$'):
        parse_html("Đà <b>Nẵng &foo;</b>")
