"""PostgreSQL stopped and started again under a running bot (issue 23): while it is down
``/healthz`` says "degraded" (503) and questions get a reply, never a traceback; once it is
back, questions are answered, ``/healthz`` is 200 again, and an article indexed while it
was down is announced to each subscribed chat exactly once (the outbox). And SIGTERM with
PostgreSQL down: the process is done within ``HOPTAC_SHUTDOWN_SECONDS``.

Each test starts a PostgreSQL of its own (``tests/pg_server.py``, not the session's: it is
stopped), which comes back on the same socket, so at the same URL. Everything waits on
events or polls with a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import hoptac.wiring
from bot.testing.fake_bot_api import FakeBotApi
from retrieval.local.engine import LocalEngine
from storage.postgres import upgrade
from tests.bot.test_replicas import NEW_ARTICLE, GrowingEngine
from tests.bot.test_shutdown import watching
from tests.bot_harness import (
    BINH,
    GROUP,
    LAN,
    MOU,
    PRIVATE_BINH,
    PRIVATE_LAN,
    QUESTION,
    WAIT_S,
    api_in_thread,
    make_settings,
    running_bot,
)
from tests.newsroom import sent_to, subscribe
from tests.pg_server import pause_server, resume_server, server_folder, server_or_skip, stop_server

SHUTDOWN_S = 2.0
MARGIN_S = 2.0  # the loop unwinding, the process being scheduled on two busy cores
FAST = {  # jobs every few tenths of a second, so the test waits on them briefly
    "bot_refresh_seconds": 0.3,
    "notify_send_seconds": 0.3,
    "singleton_lease_seconds": 1.0,
    "telegram_webhook_listen": "127.0.0.1",  # the health endpoint on loopback
}


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Any]:
    """A PostgreSQL server of this test's own (it will be stopped and started again)."""
    folder = server_folder(tmp_path / "postgres")
    server = server_or_skip(folder)
    try:
        yield server
    finally:
        with suppress(Exception):  # paused by the test already: nothing to stop
            stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def health_until(url: str, wanted: Callable[[httpx.Response], bool], timeout: float = WAIT_S) -> httpx.Response:
    """Ask ``/healthz`` until ``wanted(response)`` (a few times a second), within ``timeout``."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=timeout) as client:
        while True:
            response = await client.get(url)
            if wanted(response):
                return response
            assert time.monotonic() < deadline, f"/healthz never as wanted: {response.status_code} {response.text}"
            await asyncio.sleep(0.2)  # polling: the server's state has no event to await


def degraded(response: httpx.Response) -> bool:
    return response.status_code == 503 and response.json().get("status") == "degraded"


async def until(check: Callable[[], Awaitable[bool]] | Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.1)


async def test_postgres_restarted_under_the_bot_loses_and_doubles_nothing(
    fake_api: FakeBotApi, tmp_path: Path, own_postgres: Any
) -> None:
    url = own_postgres.get_uri()
    upgrade(url)
    engine = GrowingEngine()
    port = free_port()
    settings = make_settings(fake_api.url, tmp_path, database_url=SecretStr(url), metrics_port=port, **FAST)
    healthz = f"http://127.0.0.1:{port}/healthz"
    started = time.monotonic()
    async with running_bot(fake_api, engine, settings) as bot:
        await subscribe(bot, PRIVATE_LAN, LAN)
        await subscribe(bot, GROUP, LAN)
        assert MOU in (await bot.ask_private(LAN, PRIVATE_LAN, QUESTION))["text"]
        assert (await health_until(healthz, lambda r: r.status_code == 200)).json()["status"] == "ok"

        await asyncio.to_thread(pause_server, own_postgres)
        down = await health_until(healthz, degraded)
        assert down.json()["state"] != "ok" and down.json()["engine"] == "ok", down.json()

        # Questions while it is down: answered from the index, without the buttons (their
        # page would be kept in the database); never a traceback.
        for _ in range(2):
            reply = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
            assert MOU in reply["text"] and "reply_markup" not in reply, reply
        engine.articles.append(NEW_ARTICLE)  # indexed while the outbox cannot be written

        await asyncio.to_thread(resume_server, own_postgres)
        # The pool's reconnection backs off while the server is down: on two busy cores the
        # first good connection can come after the usual wait.
        back = await health_until(healthz, lambda r: r.status_code == 200, timeout=3 * WAIT_S)
        assert back.json()["status"] == "ok"
        assert MOU in (await bot.ask_private(BINH, PRIVATE_BINH, QUESTION))["text"]  # not subscribed: one message

        def announced(chat_id: int) -> list[str]:
            return [text for text in sent_to(fake_api, chat_id) if NEW_ARTICLE.title in text]

        await until(lambda: all(announced(c.id) for c in (PRIVATE_LAN, GROUP)), "the article announced")
        await until(lambda: bot.deps.outbox.pending_count() == 0, "the outbox empty")
        await bot.deps.notifier.deliver(bot.application.bot)  # and any retry that might come after
    for chat in (PRIVATE_LAN, GROUP):
        assert len(announced(chat.id)) == 1, sent_to(fake_api, chat.id)
    print(f"\nPostgreSQL down and up again under the bot: {time.monotonic() - started:.1f} s")


def test_sigterm_with_postgres_down_exits_within_the_shutdown_time(
    tmp_path: Path, own_postgres: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = own_postgres.get_uri()
    upgrade(url)
    engine = GrowingEngine()
    monkeypatch.setattr(LocalEngine, "open", lambda settings, progress=None, store=None: engine)
    port = free_port()
    signalled: list[float] = []
    with api_in_thread() as api, watching(" is up") as up:

        async def act() -> None:
            assert await asyncio.to_thread(up.seen.wait, WAIT_S), "the bot never came up"
            await asyncio.to_thread(pause_server, own_postgres)
            await health_until(f"http://127.0.0.1:{port}/healthz", degraded)
            with watching("Stopping: at most") as stopping:
                signalled.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGTERM)
                assert await asyncio.to_thread(stopping.seen.wait, WAIT_S), "the bot never began to stop"

        assert api.loop is not None
        acting = asyncio.run_coroutine_threadsafe(act(), api.loop)
        settings = make_settings(
            api.url, tmp_path, database_url=SecretStr(url), metrics_port=port, shutdown_seconds=SHUTDOWN_S, **FAST
        )
        hoptac.wiring.run_bot(settings)
        took = time.monotonic() - signalled[0]
        acting.result(WAIT_S)
    assert took < SHUTDOWN_S + MARGIN_S, f"stopped {took:.1f} s after SIGTERM"
    print(f"\nSIGTERM with PostgreSQL down: stopped in {took:.1f} s")
