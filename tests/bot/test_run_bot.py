"""Starting the bot: the token checked up front and kept secret, `run_bot` end to end."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

import hoptac.wiring
from bot.app import BotConfigError
from bot.redact import protect_logs
from bot.testing.fake_bot_api import FakeBotApi
from hoptac.settings import Settings
from hoptac.wiring import bot_config, build_bot, run_bot
from retrieval.local.engine import LocalEngine
from tests.bot_harness import (
    LAN,
    MOU,
    PRIVATE_LAN,
    TOKEN,
    WAIT_S,
    FakeEngine,
    api_in_thread,
    make_settings,
)

REVOKED = "987654321:ZZk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0GeQ"


def no_token_settings(tmp_path: Path, token: str | None) -> Settings:
    return make_settings("http://127.0.0.1:9", tmp_path, telegram_token=token)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_token_is_one_line_saying_how_to_get_one(tmp_path: Path, token: str | None) -> None:
    with pytest.raises(BotConfigError) as error:
        build_bot(no_token_settings(tmp_path, token), FakeEngine())

    message = str(error.value)
    assert "\n" not in message
    assert "@BotFather" in message and 'hoptac ask "' in message
    assert "Chưa có token" in message and "No Telegram bot token" in message


def test_the_bot_config_takes_each_bot_setting_by_its_name(tmp_path: Path) -> None:
    settings = make_settings(
        "http://127.0.0.1:9/", tmp_path, telegram_webhook_secret="s3cret-header", admin_ids="7,8",
        feeds="https://a.example/rss", bot_workers=3, bot_rate_limit_window_seconds=30, corpus_watch_seconds=5,
        feed_timeout_seconds=4, singleton_lease_seconds=9, notify_send_seconds=2,
    )  # fmt: skip
    config = bot_config(settings)
    assert config.api_url == "http://127.0.0.1:9" and config.admin_ids == {7, 8}
    assert config.feeds == ("https://a.example/rss",) and config.workers == 3
    assert (config.rate_limit_window_s, config.corpus_watch_s, config.fetch_timeout_s) == (30, 5, 4)
    assert (config.lease_ttl_s, config.notify_send_s, config.data_dir) == (9, 2, tmp_path)
    assert config.token == TOKEN and config.webhook_secret == "s3cret-header"
    assert TOKEN not in repr(config) and TOKEN.split(":")[1] not in str(config) and "s3cret" not in repr(config)


@pytest.mark.parametrize(
    "token",
    [
        "123456:short",
        "bot123456789:AAHk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0Ge",
        "123456789:AAHk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0G e",
    ],
)
def test_a_malformed_token_is_refused_without_repeating_it(tmp_path: Path, token: str) -> None:
    with pytest.raises(BotConfigError) as error:
        run_bot(no_token_settings(tmp_path, token))  # fails before opening the engine

    message = str(error.value)
    assert "\n" not in message and "@BotFather" in message and "malformed" in message
    assert token.strip() not in message and token.split(":")[-1] not in message


def test_a_token_telegram_rejects_is_one_line_and_never_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(LocalEngine, "open", lambda settings, progress=None, store=None: FakeEngine())
    caplog.set_level(logging.DEBUG)
    with api_in_thread() as api, pytest.raises(BotConfigError) as error:
        run_bot(make_settings(api.url, tmp_path, telegram_token=REVOKED))

    assert "rejected" in str(error.value) and "\n" not in str(error.value)
    assert REVOKED not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert "getMe" in caplog.text  # the request was logged, without the token
    assert REVOKED not in caplog.text and REVOKED.split(":")[1] not in caplog.text


def run_bot_while(
    monkeypatch: pytest.MonkeyPatch,
    api: FakeBotApi,
    settings: Settings,
    act: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``run_bot`` (it blocks, on its own event loop) while ``act`` plays the users on
    the fake server's loop; when ``act`` is done, stop the bot as Ctrl-C would."""
    monkeypatch.setattr(LocalEngine, "open", lambda settings, progress=None, store=None: FakeEngine())
    bot_loop: list[asyncio.AbstractEventLoop] = []
    build = hoptac.wiring.build_bot

    def build_and_watch(settings: Settings, engine: Any, state: Any = None) -> Any:
        application = build(settings, engine, state)
        post_init = application.post_init

        async def remember_loop(app: Any) -> None:
            bot_loop.append(asyncio.get_running_loop())
            if post_init:
                await post_init(app)

        application.post_init = remember_loop
        return application

    monkeypatch.setattr(hoptac.wiring, "build_bot", build_and_watch)

    async def act_then_stop() -> dict[str, Any]:
        try:
            return await act()
        finally:
            bot_loop[0].call_soon_threadsafe(bot_loop[0].stop)

    assert api.loop is not None
    outcome = asyncio.run_coroutine_threadsafe(act_then_stop(), api.loop)
    run_bot(settings)
    return outcome.result(WAIT_S)


def test_run_bot_polls_answers_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with api_in_thread() as api:

        async def ask() -> dict[str, Any]:
            await api.next_call("setMyCommands", timeout=WAIT_S)  # the bot is up
            api.send_text(PRIVATE_LAN, LAN, "Hải Dương và Bắc Giang ký kết gì?")
            return await api.next_message(PRIVATE_LAN.id, WAIT_S)

        reply = run_bot_while(monkeypatch, api, make_settings(api.url, tmp_path), ask)

    assert MOU in reply["text"]
    assert api.calls_to("deleteWebhook")  # polling and a webhook exclude each other
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_webhook_mode_checks_the_secret_token_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe, socket.socket() as probe_2:
        probe.bind(("127.0.0.1", 0))
        probe_2.bind(("127.0.0.1", 0))
        port, metrics_port = probe.getsockname()[1], probe_2.getsockname()[1]
    secret = "s3cret_Token-for-tests"
    settings = make_settings(
        "",
        tmp_path,
        telegram_webhook_url="https://bot.example.org/hoptac/telegram",
        telegram_webhook_secret=secret,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
        metrics_port=metrics_port,
    )
    with api_in_thread() as api:
        settings.telegram_api_url = api.url
        statuses: list[int] = []

        async def push_update() -> dict[str, Any]:
            registered = await api.next_call("setWebhook", timeout=WAIT_S)
            assert registered.params["url"] == "https://bot.example.org/hoptac/telegram"
            assert registered.params["secret_token"] == secret
            message = api.send_text(PRIVATE_LAN, LAN, "Hải Dương và Bắc Giang ký kết gì?", queue=False)
            update = {"update_id": 1, "message": message}
            url = f"http://127.0.0.1:{port}/hoptac/telegram"
            async with httpx.AsyncClient(timeout=WAIT_S) as client:
                forged = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                genuine = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                # Telegram re-delivers what it thinks got no 2xx: answered once all the same.
                again = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                health = await client.get(f"http://127.0.0.1:{metrics_port}/healthz")  # for the load balancer
            statuses.extend([forged.status_code, genuine.status_code, again.status_code, health.status_code])
            return await api.next_message(PRIVATE_LAN.id, WAIT_S)

        reply = run_bot_while(monkeypatch, api, settings, push_update)

    assert statuses == [403, 200, 200, 200]
    assert MOU in reply["text"]
    assert len(api.calls_to("sendMessage")) == 1


def test_log_lines_and_tracebacks_never_show_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    protect_logs(TOKEN)
    log = logging.getLogger("tests.bot")
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        log.exception("POST %s/bot%s/getMe failed", "https://api.telegram.org", TOKEN)

    assert TOKEN not in caplog.text
    assert "bot<token>/getMe" in caplog.text and "The token `<token>` was rejected" in caplog.text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
