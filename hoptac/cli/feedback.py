"""``hoptac feedback export FILE``: the 👍/👎 users gave the bot's answers, as CSV, for the
people who act on them (the 👎 with their reason and the first quote of the answer)."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from hoptac.cli.console import AddCommand, UserError
from hoptac.settings import Settings
from storage.records import StoredVote

#: The CSV's columns, in order; ``reason`` is empty for a 👍 and for a 👎 without one.
COLUMNS = (
    "voted_at", "vote", "reason", "question", "first_quote", "chat_id", "user_id", "answer_id", "result_offset",
    "citations",
)  # fmt: skip

FEEDBACK_EPILOG = """\
actions:
  export FILE  write every stored vote to FILE as CSV (UTF-8 with a byte-order mark, which
               spreadsheets need to read Vietnamese; '-': standard output, without it),
               oldest first, one row a vote: voted_at (ISO 8601, UTC), vote (1 for 👍,
               -1 for 👎), reason (wrong_quote, not_answered, outdated, or empty), question,
               first_quote (the first sentence the answer quoted), chat_id, user_id,
               answer_id, result_offset (0: the first answer; more: "Thêm kết quả"),
               citations (JSON: the article spans quoted). From the bot's state store
               (HOPTAC_DATABASE_URL, else DATA_DIR/hoptac.sqlite3); the bot may keep running.
"""


def add_commands(add: AddCommand) -> None:
    feedback = add(
        "feedback",
        help="'feedback export FILE': the 👍/👎 users gave answers, with 👎 reasons, as CSV",
        description="The feedback users gave the bot's answers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FEEDBACK_EPILOG,
    )
    feedback.add_argument("action", choices=["export"], help="what to do (see the actions below)")
    feedback.add_argument("file", metavar="FILE", help="the CSV file to write ('-': standard output)")
    feedback.add_argument("--dislikes", action="store_true", help="only the 👎")
    feedback.set_defaults(func=cmd_feedback)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """``hoptac feedback export FILE``: every stored vote as CSV."""
    from hoptac.wiring import open_state_store

    database = Path(settings.data_dir) / "hoptac.sqlite3"
    if settings.database_url is None and not database.exists():
        raise UserError(f"no bot state in {database}: the bot has not run with this data folder (--data-dir)")
    state = open_state_store(settings)
    try:
        votes = list(reversed(state.feedback.recent(dislikes_only=args.dislikes)))
    finally:
        state.close()
    with _opened(args.file) as out:
        write_csv(votes, out)
    dislikes = sum(1 for stored in votes if stored.vote.vote < 0)
    where = "standard output" if args.file == "-" else args.file
    print(f"hoptac: wrote {len(votes)} votes ({dislikes} 👎) to {where}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _opened(file: str) -> Iterator[TextIO]:
    if file == "-":
        yield sys.stdout
        return
    try:
        with open(file, "w", encoding="utf-8-sig", newline="") as out:
            yield out
    except OSError as exc:
        raise UserError(f"cannot write {file}: {exc.strerror or exc}") from None


def write_csv(votes: Sequence[StoredVote], out: TextIO) -> None:
    """``votes`` as CSV rows under a header of :data:`COLUMNS`."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for stored in votes:
        vote = stored.vote
        citations = [{"article_id": a, "start": s, "end": e} for a, s, e in vote.citations]
        writer.writerow(
            (
                stored.voted_at, vote.vote, vote.reason.value if vote.reason else "", vote.question, vote.first_quote,
                vote.chat_id, vote.user_id, vote.answer_id, vote.result_offset,
                json.dumps(citations, ensure_ascii=False),
            )
        )  # fmt: skip
