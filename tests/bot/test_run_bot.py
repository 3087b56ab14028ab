"""Starting the bot: the token checked up front and kept secret, `run_bot` end to end."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import bot.app
from bot.app import BotConfigError, build_application, run_bot
from bot.redact import protect_logs
from hoptac.settings import Settings
from tests.bot.conftest import (
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
        build_application(no_token_settings(tmp_path, token), FakeEngine())

    message = str(error.value)
    assert "\n" not in message
    assert "@BotFather" in message and 'hoptac ask "' in message
    assert "Chưa có token" in message and "No Telegram bot token" in message


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
    monkeypatch.setattr("retrieval.engine.AnswerEngine.open", lambda settings, progress=None: FakeEngine())
    caplog.set_level(logging.DEBUG)
    with api_in_thread() as api, pytest.raises(BotConfigError) as error:
        run_bot(make_settings(api.url, tmp_path, telegram_token=REVOKED))

    assert "rejected" in str(error.value) and "\n" not in str(error.value)
    assert REVOKED not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert "getMe" in caplog.text  # the request was logged, without the token
    assert REVOKED not in caplog.text and REVOKED.split(":")[1] not in caplog.text


def test_run_bot_polls_answers_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = FakeEngine()
    monkeypatch.setattr("retrieval.engine.AnswerEngine.open", lambda settings, progress=None: engine)
    loops: list[asyncio.AbstractEventLoop] = []
    build = bot.app.build_application

    def build_and_watch(settings: Settings, engine: Any) -> Any:
        application = build(settings, engine)
        post_init = application.post_init

        async def remember_loop(app: Any) -> None:
            loops.append(asyncio.get_running_loop())
            if post_init:
                await post_init(app)

        application.post_init = remember_loop
        return application

    monkeypatch.setattr(bot.app, "build_application", build_and_watch)
    caplog.set_level(logging.DEBUG)

    with api_in_thread() as api:

        async def act_as_user() -> dict[str, Any]:
            await api.next_call("setMyCommands", timeout=WAIT_S)  # the bot is up
            api.send_text(PRIVATE_LAN, LAN, "Hải Dương và Bắc Giang ký kết gì?")
            reply = await api.next_message(PRIVATE_LAN.id, WAIT_S)
            loops[0].call_soon_threadsafe(loops[0].stop)  # as Ctrl-C would
            return reply

        assert api.loop is not None
        user = asyncio.run_coroutine_threadsafe(act_as_user(), api.loop)
        run_bot(make_settings(api.url, tmp_path))
        reply = user.result(WAIT_S)

    assert MOU in reply["text"]
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


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
