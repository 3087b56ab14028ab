"""The real bot with its state in PostgreSQL (``HOPTAC_DATABASE_URL``, a real server):
a button works on another process with another data folder, and a notification
interrupted by a crash goes out once after the restart. Nothing lands in SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from bot.testing.fake_bot_api import FakeBotApi
from notifications.notifier import Notifier
from storage.postgres import upgrade
from tests.bot_harness import LAN, PRIVATE_LAN, QUESTION, WAIT_S, FakeEngine, make_settings, running_bot
from tests.newsroom import TEA, Newsroom, sent_to, subscribe
from tests.notifications.test_notifications import killed, nothing_more_is_sent


@pytest.fixture
def database_url(postgres_url: str) -> SecretStr:
    upgrade(postgres_url)
    return SecretStr(postgres_url)


async def test_a_button_works_on_another_replica_and_the_vote_is_in_the_database(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr
) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    first = make_settings(fake_api.url, tmp_path / "one", database_url=database_url)
    async with running_bot(fake_api, FakeEngine(), first) as bot:
        answer = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    other = make_settings(fake_api.url, tmp_path / "two", database_url=database_url)  # nothing shared but the db
    async with running_bot(fake_api, FakeEngine(), other) as bot:
        fake_api.press_button(LAN, answer, "➕ Thêm kết quả")
        more = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)
        assert "[4] «" in more["text"] and bot.engine.asked == [(QUESTION, 3, 3)]
        await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)
        fake_api.press_button(LAN, answer, "👍")
        thanks = await bot.api.next_call("answerCallbackQuery", timeout=WAIT_S)
        assert "Cảm ơn" in thanks.params["text"]

    with psycopg.connect(database_url.get_secret_value()) as connection:
        votes = connection.execute("SELECT question, vote, user_id FROM feedback").fetchall()
    assert votes == [(QUESTION, 1, LAN.id)]
    assert not list(tmp_path.rglob("*.sqlite3"))


async def test_a_notification_cut_off_by_a_crash_goes_out_once_after_the_restart(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch, database_url: SecretStr
) -> None:
    state: dict[str, Any] = {"database_url": database_url}
    async with newsroom.running(**state) as bot:
        await subscribe(bot, PRIVATE_LAN, LAN)
        with monkeypatch.context() as patched:  # the process dies once the outbox rows are committed
            patched.setattr(Notifier, "deliver", killed)
            await asyncio.to_thread(newsroom.ingest_elsewhere, TEA)
            await bot.deps.notifier.index_changed(bot.application.bot)
            assert [row["status"] for row in bot.deps.outbox.rows(PRIVATE_LAN.id)] == ["pending"]

    async with newsroom.running(**state) as bot:
        notice = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)
        assert TEA["title"] in notice["text"]
        await nothing_more_is_sent(bot)
        assert [row["status"] for row in bot.deps.outbox.rows(PRIVATE_LAN.id)] == ["sent"]

    async with newsroom.running(**state) as bot:
        await nothing_more_is_sent(bot)
    assert len(sent_to(newsroom.api, PRIVATE_LAN.id)) == 2  # "/subscribe" answered, one notification
