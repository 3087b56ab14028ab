"""Two replicas of the real bot on one PostgreSQL (a real server), both talking to the fake
Bot API: a new article is announced once per subscribed chat, an update delivered to both
is answered once, the outbox sender runs on one of them and moves when it stops; and a
replica answers /healthz and /metrics over loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from telegram import Update

from bot.app import ALLOWED_UPDATES
from bot.polling import PollingTurn
from bot.replicas import POLLING_KEY
from bot.testing.fake_bot_api import FakeBotApi
from hoptac.settings import Settings
from hoptac.wiring import build_bot
from retrieval.engine import IndexStatus
from retrieval.models import Article
from storage.leases import OUTBOX_SENDER, TELEGRAM_POLLING
from storage.postgres import upgrade
from tests.bot_harness import (
    ADMIN,
    ARTICLE,
    BINH,
    GROUP,
    LAN,
    MOU,
    PRIVATE_ADMIN,
    PRIVATE_BINH,
    PRIVATE_LAN,
    WAIT_S,
    BotHarness,
    FakeEngine,
    make_settings,
    running_bot,
)
from tests.newsroom import sent_to, subscribe

NEW_ARTICLE = dataclasses.replace(
    ARTICLE,
    id="hai-duong-bac-giang-ky-ket-2020",
    title="Hải Dương và Bắc Giang ký kết chương trình hợp tác 2020",
    url="https://example.org/bao-hai-duong/ky-ket-2020",
)


class GrowingEngine(FakeEngine):
    """The fake engine, whose index can gain an article (as after an ingest elsewhere)."""

    def __init__(self) -> None:
        super().__init__()
        self.articles = [ARTICLE]

    def status(self, verify: bool = False) -> IndexStatus:
        return dataclasses.replace(
            super().status(), articles=len(self.articles), version=f"gen{self.generation}-{len(self.articles)}"
        )

    def latest_articles(self, n: int = 5) -> list[Article]:
        return list(reversed(self.articles))[:n]


@pytest.fixture
def database_url(postgres_url: str) -> SecretStr:
    upgrade(postgres_url)
    return SecretStr(postgres_url)


@asynccontextmanager
async def replicas(
    api: FakeBotApi, engine: FakeEngine, tmp_path: Path, database_url: SecretStr, **overrides: Any
) -> AsyncIterator[list[BotHarness]]:
    """Two bots with their own data folders and names, on one database (both poll ``api``)."""
    async with AsyncExitStack() as stack:
        bots = []
        for name in ("bot-1", "bot-2"):
            (tmp_path / name).mkdir()
            settings = make_settings(
                api.url, tmp_path / name, database_url=database_url, replica_name=name, **overrides
            )
            bots.append(await stack.enter_async_context(running_bot(api, engine, settings)))
        yield bots


async def test_two_replicas_announce_a_new_article_once_per_subscribed_chat(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr
) -> None:
    engine = GrowingEngine()
    async with replicas(fake_api, engine, tmp_path, database_url) as (one, two):
        # Both poll the same updates: each /subscribe is still answered once.
        await subscribe(one, PRIVATE_LAN, LAN)
        await subscribe(two, PRIVATE_BINH, BINH)
        await subscribe(one, GROUP, LAN)

        engine.articles.append(NEW_ARTICLE)  # ingested elsewhere; both replicas see it at once
        queued = await asyncio.gather(*(bot.deps.notifier.check_index() for bot in (one, two)))
        assert sorted(queued) == [0, 3]  # one replica queued it for the three chats
        # Both send at the same moment (as the index-refresh job of each would).
        await asyncio.gather(*(bot.deps.notifier.deliver(bot.application.bot) for bot in (one, two)))
        for bot in (one, two):  # and any retry that might come after
            await bot.deps.notifier.deliver(bot.application.bot)

        holders = [bot.deps.singletons.holds(OUTBOX_SENDER) for bot in (one, two)]
        assert sorted(holders) == [False, True]  # one outbox sender

    for chat in (PRIVATE_LAN, PRIVATE_BINH, GROUP):
        texts = sent_to(fake_api, chat.id)
        assert len(texts) == 2, texts  # "/subscribe" answered, one notification
        assert "Đã bật thông báo" in texts[0] and NEW_ARTICLE.title in texts[1]


async def test_an_update_delivered_to_both_replicas_is_answered_once(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr
) -> None:
    engine = FakeEngine()
    async with replicas(fake_api, engine, tmp_path, database_url) as (one, two):
        message = fake_api.send_text(PRIVATE_LAN, LAN, "Hải Dương và Bắc Giang ký kết gì?", queue=False)
        payload = {"update_id": 900_001, "message": message}
        # As Telegram re-delivering a webhook call that got no 2xx, to the other replica.
        for bot in (one, two):
            await bot.application.update_queue.put(Update.de_json(payload, bot.application.bot))
        reply = await fake_api.next_message(PRIVATE_LAN.id, WAIT_S)
        assert MOU in reply["text"]
        # The second replica has seen the update when its own update queue is empty and idle.
        for bot in (one, two):
            await asyncio.wait_for(bot.application.update_queue.join(), WAIT_S)
    assert len(fake_api.calls_to("sendMessage", PRIVATE_LAN.id)) == 1
    assert [asked[0] for asked in engine.asked] == ["Hải Dương và Bắc Giang ký kết gì?"]


@pytest.mark.parametrize("how", ["dies", "stops"])
async def test_the_outbox_sender_moves_to_the_other_replica_when_its_holder_dies_or_stops(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr, how: str
) -> None:
    engine = FakeEngine()
    async with replicas(fake_api, engine, tmp_path, database_url, singleton_lease_seconds=1.0) as (one, two):
        assert one.deps.singletons.holds(OUTBOX_SENDER) and not two.deps.singletons.holds(OUTBOX_SENDER)
        loop = asyncio.get_running_loop()
        taken = asyncio.Event()
        two.deps.singletons.on_change = lambda name, ours: loop.call_soon_threadsafe(taken.set) if ours else None
        assert one.application.job_queue is not None
        one.application.job_queue.scheduler.pause()  # bot-1 renews nothing more, sends nothing more
        started = loop.time()
        if how == "stops":
            await asyncio.to_thread(one.deps.singletons.release_all)  # a clean shutdown gives it back
        await asyncio.wait_for(taken.wait(), WAIT_S)  # bot-2's next renewal (every 1/3 s) takes it
        assert two.deps.singletons.holds(OUTBOX_SENDER) and not one.deps.singletons.holds(OUTBOX_SENDER)
        if how == "dies":
            assert loop.time() - started >= 0.5  # not before bot-1's lease lapsed
        one.application.job_queue.scheduler.resume()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loop_time() -> float:
    return asyncio.get_running_loop().time()


class BrokenEngine(FakeEngine):
    broken = False

    def status(self) -> IndexStatus:
        if self.broken:
            raise RuntimeError("index file is corrupt")
        return super().status()


async def test_a_replica_answers_healthz_and_metrics_over_loopback(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr
) -> None:
    engine = BrokenEngine()
    port = free_port()
    settings = make_settings(
        fake_api.url, tmp_path, database_url=database_url, replica_name="bot-7", metrics_port=port,
        telegram_webhook_listen="127.0.0.1",
    )  # fmt: skip
    async with running_bot(fake_api, engine, settings) as bot, httpx.AsyncClient(timeout=WAIT_S) as client:
        base = f"http://127.0.0.1:{port}"
        health = await client.get(f"{base}/healthz")
        assert health.status_code == 200
        assert health.json() == {
            "ready": True, "status": "ok", "down": [], "replica": "bot-7", "engine": "ok", "state": "ok",
        }  # fmt: skip

        await bot.ask_private(LAN, PRIVATE_LAN, "Hải Dương và Bắc Giang ký kết gì?")
        await bot.ask_private(LAN, PRIVATE_LAN, "Có gì trên sao Hỏa?")  # nothing found
        metrics = await client.get(f"{base}/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        lines = set(metrics.text.splitlines())
        assert {
            "hoptac_questions_total 2.0",
            "hoptac_answers_found_total 1.0",
            "hoptac_answer_seconds_count 2.0",
            "hoptac_outbox_backlog 0.0",
            "hoptac_ingest_queue_depth 0.0",
            'hoptac_singleton_held{name="outbox-sender"} 1.0',
            'hoptac_replica_info{name="bot-7"} 1.0',
        } <= lines

        status = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")
        assert "Bản sao (replica): bot-7, chạy một nơi: outbox-sender, telegram-polling" in status["text"]

        engine.broken = True
        sick = await client.get(f"{base}/healthz")
        assert sick.status_code == 503
        assert sick.json()["engine"] == "RuntimeError: index file is corrupt" and sick.json()["state"] == "ok"

        engine.broken = False
        bot.deps.state.close()  # the database is gone (its pool closed)
        deadline = loop_time() + WAIT_S
        while (no_database := await client.get(f"{base}/healthz")).status_code == 200:  # its answer is kept 1.5 s
            assert loop_time() < deadline, no_database.text
            await asyncio.sleep(0.2)
        assert no_database.status_code == 503 and no_database.json()["status"] == "degraded"
        assert no_database.json()["engine"] == "ok" and no_database.json()["down"] == ["state"]


def test_log_lines_name_the_replica(tmp_path: Path) -> None:
    settings = make_settings("http://127.0.0.1:9", tmp_path, replica_name="bot-9%")
    from hoptac.wiring import bot_config

    assert bot_config(settings).replica_name == "bot-9%"
    assert bot_config(make_settings("http://127.0.0.1:9", tmp_path)).replica_name == socket.gethostname()
    script = (
        "import logging; from hoptac.wiring import configure_logging; configure_logging('bot-9%'); "
        "logging.getLogger('bot.app').info('Bot @hoptac_test_bot is up')"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert re.fullmatch(r"\S+ \S+ bot-9% INFO bot\.app: Bot @hoptac_test_bot is up\n", run.stderr), run.stderr


@asynccontextmanager
async def polling_by_lease(
    api: FakeBotApi, engine: FakeEngine, settings: Settings
) -> AsyncIterator[tuple[BotHarness, PollingTurn]]:
    """The real application, long polling only while it holds the lease (as `hoptac bot` does)."""
    application = build_bot(settings, engine)
    turn = PollingTurn(application, ALLOWED_UPDATES, timeout_s=1)
    application.bot_data[POLLING_KEY] = turn
    await asyncio.wait_for(application.initialize(), WAIT_S)
    assert application.post_init is not None
    await application.post_init(application)
    await application.start()
    bot = BotHarness(api, engine, application)
    await turn.follow(bot.deps.singletons.held())
    try:
        yield bot, turn
    finally:
        turn.stop()  # as `hoptac bot` stopping: the lease job never starts polling again
        assert application.updater is not None
        if application.updater.running:
            await asyncio.wait_for(application.updater.stop(), WAIT_S)
        await asyncio.wait_for(application.stop(), WAIT_S)
        await asyncio.wait_for(application.shutdown(), WAIT_S)
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


async def test_long_polling_runs_on_one_replica_and_moves_when_it_dies(
    fake_api: FakeBotApi, tmp_path: Path, database_url: SecretStr
) -> None:
    engine = FakeEngine()
    async with AsyncExitStack() as stack:
        bots = []
        for name in ("bot-1", "bot-2"):
            (tmp_path / name).mkdir()
            settings = make_settings(
                fake_api.url, tmp_path / name, database_url=database_url, replica_name=name,
                singleton_lease_seconds=1.0,
            )  # fmt: skip
            bots.append(await stack.enter_async_context(polling_by_lease(fake_api, engine, settings)))
        (one, turn_one), (two, turn_two) = bots
        assert turn_one.polling and not turn_two.polling  # one getUpdates client, as Telegram wants
        assert MOU in (await one.ask_private(LAN, PRIVATE_LAN, "Hải Dương và Bắc Giang ký kết gì?"))["text"]

        loop = asyncio.get_running_loop()
        taken = asyncio.Event()
        two.deps.singletons.on_change = lambda name, ours: (
            loop.call_soon_threadsafe(taken.set) if ours and name == TELEGRAM_POLLING else None
        )
        assert one.application.job_queue is not None and one.application.updater is not None
        one.application.job_queue.scheduler.pause()  # bot-1 dies: no more renewals...
        # ...(a renewal already running when the scheduler paused would start polling again
        # after the stop below: a dead replica never does)...
        turn_one.stop()
        await one.application.updater.stop()  # ...and no more polling
        await asyncio.wait_for(taken.wait(), WAIT_S)  # its lease lapsed: bot-2 took it

        reply = await two.ask_private(BINH, PRIVATE_BINH, "Hải Dương và Bắc Giang ký kết gì?")
        assert MOU in reply["text"] and turn_two.polling and not turn_one.polling
        one.application.job_queue.scheduler.resume()
    assert len(fake_api.calls_to("sendMessage", PRIVATE_LAN.id)) == 1
    assert len(fake_api.calls_to("sendMessage", PRIVATE_BINH.id)) == 1
