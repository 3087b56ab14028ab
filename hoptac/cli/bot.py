"""``hoptac bot`` and ``hoptac run``: the Telegram bot, or without a token a demonstration."""

from __future__ import annotations

import argparse
import logging
import os
import threading

from hoptac.cli.ask import open_engine
from hoptac.cli.console import AddCommand, print_answer
from hoptac.settings import Settings

#: How long the interpreter may take to exit once the bot has stopped.
EXIT_GRACE_S = 1.0

EXAMPLE_QUESTIONS = (
    "Hai tỉnh sẽ phối hợp xây dựng những dự án nào?",
    "cau Dong Viet o dau",
    "Which projects will the two provinces coordinate on?",
    "Giá vàng hôm nay bao nhiêu?",
)


def add_commands(add: AddCommand) -> None:
    bot = add("bot", help="run the Telegram bot (needs HOPTAC_TELEGRAM_TOKEN)")
    bot.set_defaults(func=cmd_bot)

    run = add("run", help="the main job: the bot if a token is set, else index and demo answers")
    run.set_defaults(func=cmd_run)


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import run_bot

    run_bot(settings)
    _exit_even_if_threads_hang()
    return 0


def _exit_even_if_threads_hang() -> None:
    """Once the bot has stopped (within HOPTAC_SHUTDOWN_SECONDS), the process is about to
    exit; a thread still waiting on a database out of reach would hold that up (the
    interpreter joins them): past ``EXIT_GRACE_S``, the process ends anyway."""

    def exit_now() -> None:
        busy = [t.name for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
        logging.getLogger(__name__).error("Exiting with threads still busy (%s)", ", ".join(busy[1:]) or "none")
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(EXIT_GRACE_S, exit_now)
    timer.daemon = True
    timer.start()


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The main job: the bot when a token is configured, otherwise a demonstration."""
    if settings.telegram_token is not None:
        return cmd_bot(args, settings)
    engine = open_engine(settings)
    status = engine.status()
    print(f"Index: {status.articles} articles, {status.passages} passages ({settings.data_dir}).")
    for question in EXAMPLE_QUESTIONS:
        print(f"\n? {question}")
        print_answer(engine.ask(question), status.articles)
    print(
        "\nNo Telegram token configured (HOPTAC_TELEGRAM_TOKEN), so the bot was not started. "
        'Ask your own questions with: hoptac ask "...", or chat with the bot offline: hoptac try'
    )
    return 0
