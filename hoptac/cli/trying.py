"""``hoptac try``: the real bot in this terminal, against a fake Telegram on 127.0.0.1.

No token, nothing sent to Telegram. Questions are answered from a copy of the configured
index; uploads, ``/reindex``, subscriptions and votes change only that scratch copy
(:mod:`hoptac.sandbox`), removed at the end unless ``--scratch DIR`` keeps it. On a
terminal it is a chat; with standard input from a pipe or a file, each line is a step
and the replies are printed (``printf 'cau Dong Viet o dau\\n/latest\\n' | hoptac try``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from hoptac.cli.ask import open_engine
from hoptac.cli.console import AddCommand, UserError
from hoptac.settings import Settings


def add_commands(add: AddCommand) -> None:
    try_ = add(
        "try",
        help="chat with the real bot in this terminal, offline (a fake Telegram on 127.0.0.1; no token needed)",
        epilog="Lines: "
        "a question or a bot command (/latest, /subscribe Hải Phòng, /reindex, /status); "
        "/1 or #1 presses button (or inline result) 1 of those shown last, #label the one with that label; "
        "@hoptac_bot câu hỏi is an inline query; /upload PATH sends a file as an admin; "
        "/group talks in a subscribed group, /private back; /quit or Ctrl-D stops. "
        "Without a terminal, standard input is read line by line. Uploads and /reindex change a scratch copy "
        "of the corpus and index, never the real ones.",
    )
    try_.add_argument(
        "--scratch",
        type=Path,
        metavar="DIR",
        help="make the scratch copy (corpus, index, the bot's state) in DIR, which must be empty or missing, "
        "and keep it (default: a temporary folder, removed at the end)",
    )
    try_.set_defaults(func=cmd_try)


def cmd_try(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.sandbox import Sandbox, has_index, sandboxed

    scratch: Path | None = args.scratch
    if scratch is not None and scratch.exists() and (not scratch.is_dir() or any(scratch.iterdir())):
        raise UserError(f"--scratch {scratch} is not an empty folder")
    local = sandboxed(settings, Path(settings.corpus_dir), Path(settings.data_dir))  # the local index, always
    if not has_index(local):
        print(f"hoptac try: no index in {Path(settings.data_dir) / 'index'} yet: building it", file=sys.stderr)
        open_engine(local)
    root = scratch if scratch is not None else Path(tempfile.mkdtemp(prefix="hoptac-try-"))
    try:
        sandbox = Sandbox.create(settings, root)
        engine = open_engine(sandbox.settings)
        kept = "kept" if scratch is not None else "removed at the end"
        print(
            f"hoptac try: the real bot, against a fake Telegram on 127.0.0.1 (nothing is sent to Telegram). "
            f"It answers from a copy of {Path(settings.data_dir) / 'index'}; uploads, /reindex and subscriptions "
            f"change only the scratch copy in {root} ({kept}).",
            file=sys.stderr,
        )
        try:
            return asyncio.run(_chat(sandbox.settings, engine, interactive=sys.stdin.isatty()))
        except KeyboardInterrupt:
            return 130
    finally:
        if scratch is None:
            shutil.rmtree(root, ignore_errors=True)


def _print(line: str) -> None:
    print(line, flush=True)


def _print_error(line: str) -> None:
    sys.stdout.flush()
    print(line, file=sys.stderr, flush=True)


async def _chat(settings: Settings, engine: object, *, interactive: bool) -> int:
    from hoptac.try_session import KEYS, PRIVATE, try_session

    reader = LineReader(interactive)
    async with try_session(settings, engine, _print, ansi=interactive and sys.stdout.isatty()) as session:  # type: ignore[arg-type]
        session.echo = not interactive
        session.err = _print_error
        if interactive:
            print("\n".join(["Type a line and Enter:", *(f"  • {key}" for key in KEYS)]), file=sys.stderr)
        while True:
            where = "" if session.chat is PRIVATE else f" → {session.chat.title}"
            line = await reader.next_line(f"\n{PRIVATE.first_name}{where}> ")
            if line is None or not await session.handle(line):
                break
    return 1 if session.failures else 0


class LineReader:
    """Lines of standard input, read in a thread of its own (a daemon: Ctrl-C is never held up
    by a blocked read), one at a time when asked for: on a terminal each with a prompt."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._asks: queue.Queue[tuple[str, asyncio.AbstractEventLoop, asyncio.Future[str | None]]] = queue.Queue()
        self._ended = False
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        threading.Thread(target=self._read, name="hoptac-try-input", daemon=True).start()

    async def next_line(self, prompt: str) -> str | None:
        """The next line, without its end; None at the end of the input."""
        if self._ended:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._asks.put((prompt, loop, future))
        line = await future
        self._ended = line is None
        return line

    def _read(self) -> None:
        while True:
            prompt, loop, future = self._asks.get()
            line: str | None
            try:
                if self.interactive:
                    line = input(prompt)
                else:
                    read = sys.stdin.readline()
                    line = read.rstrip("\n") if read else None
            except (EOFError, OSError, ValueError):
                line = None
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(_settle, future, line)
            if line is None:
                return


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)
