"""SIGTERM to a running bot: the answers in flight are sent, and the process is done within
``HOPTAC_SHUTDOWN_SECONDS`` even when Telegram cannot be reached (issue 23).

``run_bot`` runs on this thread (it installs the signal handlers), the fake Bot API on a
thread of its own; the test sends itself a real SIGTERM once an answer is being worked
out, and waits on events throughout: the engine taking the question, the bot logging
that it stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import hoptac.wiring
from bot.engine_client import AnswerCutOff, EngineClient
from bot.polling import PollingTurn
from bot.shutdown import Shutdown
from bot.testing.fake_bot_api import FakeBotApi
from retrieval.local.engine import LocalEngine
from retrieval.models import Answer
from storage.leases import TELEGRAM_POLLING
from tests.bot_harness import LAN, MOU, PRIVATE_LAN, QUESTION, WAIT_S, FakeEngine, api_in_thread, make_settings

SHUTDOWN_S = 2.0
MARGIN_S = 1.5  # the loop unwinding, the process being scheduled on two busy cores


class HeldEngine(FakeEngine):
    """Holds each answer until the test releases it: an answer in flight, on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.asking = threading.Event()
        self.release = threading.Event()

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        self.asking.set()
        assert self.release.wait(WAIT_S), "the test never released the answer"
        return super().ask(question, limit, offset)


class LogWatch(logging.Handler):
    """Sets ``seen`` when a record containing ``text`` is logged (from any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.INFO)
        self.text = text
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


@contextmanager
def watching(text: str) -> Iterator[LogWatch]:
    watch = LogWatch(text)
    logging.getLogger().addHandler(watch)
    try:
        yield watch
    finally:
        logging.getLogger().removeHandler(watch)


def run_bot_then_sigterm(
    monkeypatch: pytest.MonkeyPatch,
    api: FakeBotApi,
    engine: HeldEngine,
    tmp_path: Path,
    while_stopping: Callable[[], Coroutine[Any, Any, None]],
) -> float:
    """Run the bot; once it works out an answer, SIGTERM; then ``while_stopping()`` (on the
    fake server's loop) releases the answer. Returns the seconds from SIGTERM to ``run_bot``
    returning."""
    monkeypatch.setattr(LocalEngine, "open", lambda settings, progress=None, store=None: engine)
    signalled: list[float] = []

    async def act() -> None:
        await api.next_call("setMyCommands", timeout=WAIT_S)  # the bot is up
        api.send_text(PRIVATE_LAN, LAN, QUESTION)
        assert await asyncio.to_thread(engine.asking.wait, WAIT_S), "the question never reached the engine"
        with watching("Stopping: at most") as stopping:
            signalled.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGTERM)
            assert await asyncio.to_thread(stopping.seen.wait, WAIT_S), "the bot never began to stop"
        await while_stopping()

    assert api.loop is not None
    acting = asyncio.run_coroutine_threadsafe(act(), api.loop)
    hoptac.wiring.run_bot(make_settings(api.url, tmp_path, shutdown_seconds=SHUTDOWN_S))
    stopped = time.monotonic()
    acting.result(WAIT_S)
    return stopped - signalled[0]


def test_sigterm_sends_the_answer_in_flight_before_the_bot_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    engine = HeldEngine()
    replies: list[dict[str, Any]] = []
    with api_in_thread() as api:

        async def answer_now() -> None:
            engine.release.set()
            replies.append(await api.next_message(PRIVATE_LAN.id, WAIT_S))

        took = run_bot_then_sigterm(monkeypatch, api, engine, tmp_path, answer_now)

    assert MOU in replies[0]["text"]
    assert took < SHUTDOWN_S + MARGIN_S
    assert "Stopped in" in caplog.text and "gave up" not in caplog.text


@pytest.mark.parametrize("telegram", ["refusing connections", "silent"])
def test_a_bot_that_cannot_reach_telegram_exits_within_the_shutdown_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, telegram: str
) -> None:
    caplog.set_level(logging.INFO)
    engine = HeldEngine()
    with api_in_thread() as api, socket.socket() as black_hole:
        port = int(api.url.rsplit(":", 1)[1])

        async def telegram_gone() -> None:
            await api.stop()  # every connection to it closed, its port free
            if telegram == "silent":  # connections are accepted by the kernel and never answered
                black_hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                black_hole.bind(("127.0.0.1", port))
                black_hole.listen(64)
            engine.release.set()  # the answer is ready; Telegram is not

        took = run_bot_then_sigterm(monkeypatch, api, engine, tmp_path, telegram_gone)

    assert took < SHUTDOWN_S + MARGIN_S, f"stopped {took:.1f} s after SIGTERM"
    stopped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Stopped after")]
    assert stopped and "HOPTAC_SHUTDOWN_SECONDS is 2 s" in stopped[0], caplog.text[-2000:]


class StuckUpdater:
    """An updater whose start never gets past deleteWebhook (Telegram out of reach)."""

    running = False

    def __init__(self) -> None:
        self.starts = 0
        self.starting = asyncio.Event()

    async def start_polling(self, **options: Any) -> None:
        self.starts += 1
        self.starting.set()
        await asyncio.Event().wait()


async def test_a_stopping_replica_cuts_short_a_polling_start_and_never_starts_another() -> None:
    updater = StuckUpdater()
    turn = PollingTurn(SimpleNamespace(updater=updater), ["message"])  # type: ignore[arg-type]
    following = asyncio.create_task(turn.follow({TELEGRAM_POLLING: True}))
    await asyncio.wait_for(updater.starting.wait(), WAIT_S)

    turn.stop()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(following, WAIT_S)
    await asyncio.wait_for(turn.follow({TELEGRAM_POLLING: True}), WAIT_S)  # the lease renewed while stopping
    assert updater.starts == 1


async def test_an_answer_still_worked_out_when_only_the_reply_time_is_left_is_given_up() -> None:
    shutdown = Shutdown(0.8)  # answers given up 0.4 s in: 0.2 s kept for closing, 0.2 s for the reply
    engine = HeldEngine()
    client = EngineClient(engine, cut_off=shutdown.answers_cut_off)
    try:
        engine.release.set()
        assert MOU in (await asyncio.wait_for(client.ask(QUESTION), WAIT_S)).answer  # not stopping: answered
        engine.release.clear()
        engine.asking.clear()
        asking = asyncio.ensure_future(client.ask(QUESTION))
        assert await asyncio.to_thread(engine.asking.wait, WAIT_S)
        shutdown.begin()
        with pytest.raises(AnswerCutOff, match="stopping"):
            await asyncio.wait_for(asking, WAIT_S)
        assert 0.35 < shutdown.elapsed() < 0.8
    finally:
        engine.release.set()
        client.close()
