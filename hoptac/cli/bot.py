"""``hoptac bot`` and ``hoptac run``: the Telegram bot, or without a token a demonstration."""

from __future__ import annotations

import argparse

from hoptac.cli.ask import open_engine
from hoptac.cli.console import AddCommand, print_answer
from hoptac.settings import Settings

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
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The main job: the bot when a token is configured, otherwise a demonstration."""
    if settings.telegram_token is not None:
        return cmd_bot(args, settings)
    engine = open_engine(settings)
    status = engine.status()
    print(f"Index: {status.articles} articles, {status.passages} passages ({settings.data_dir}).")
    for question in EXAMPLE_QUESTIONS:
        print(f"\n? {question}")
        print_answer(engine.ask(question))
    print(
        "\nNo Telegram token configured (HOPTAC_TELEGRAM_TOKEN), so the bot was not started. "
        'Ask your own questions with: hoptac ask "..."'
    )
    return 0
