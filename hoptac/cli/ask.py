"""``hoptac ask``: a question, or a file of questions, answered with cited sentences."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from hoptac.cli.console import AddCommand, UserError, print_answer, print_error, print_json, progress
from hoptac.settings import Settings


def add_commands(add: AddCommand) -> None:
    ask = add("ask", help="answer a question (or a file of questions) with cited sentences")
    ask.add_argument("question", nargs="?", help="the question, in Vietnamese (with or without diacritics) or English")
    ask.add_argument("--questions", metavar="FILE", help="one question a line; - reads standard input")
    ask.add_argument(
        "-k",
        type=int,
        default=None,
        metavar="N",
        help="at most N cited sentences (default: setting answer_sentences, 3)",
    )
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.set_defaults(func=cmd_ask)


def open_engine(settings: Settings) -> Any:
    """The answer engine, built first if missing (with progress bars on a terminal)."""
    from hoptac.wiring import open_engine

    with progress() as bars:
        return open_engine(settings, bars)


def _questions(source: str) -> Iterator[str]:
    stream = sys.stdin if source == "-" else _open_text(Path(source))
    with stream:
        for line in stream:
            if line.strip():
                yield line.rstrip("\n")


def _open_text(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.answering.search import check_question
    from retrieval.engine import QuestionError

    if (args.question is None) == (args.questions is None):
        raise UserError("give one QUESTION or --questions FILE (use - for standard input)")
    if args.question is not None:
        check_question(args.question)  # a bad question fails before the model loads
    if args.k is not None and args.k < 1:
        raise UserError("-k must be at least 1")
    engine = open_engine(settings)
    questions = [args.question] if args.question is not None else _questions(args.questions)
    article_count = engine.status().articles
    failed = 0
    for question in questions:
        try:
            answer = engine.ask(question, limit=args.k)
        except QuestionError as exc:
            failed += 1
            if args.json:
                print_json({"question": question, "error": str(exc)})
            else:
                print_error(str(exc))
            continue
        if args.json:
            print_json(answer.to_json())
        else:
            if args.questions is not None:
                print(f"? {answer.question}")
            print_answer(answer, article_count)
            if args.questions is not None:
                print()
    return 1 if failed else 0
