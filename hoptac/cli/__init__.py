"""The ``hoptac`` command line, one module per group of commands:

- ``ask``: ``ask``
- ``corpus``: ``ingest``, ``reindex``, ``status``
- ``worker``: ``worker`` (the cluster's ingest service)
- ``model``: ``model build``
- ``db``: ``db upgrade``, ``db import-embedded``
- ``bot``: ``bot``, ``run``
- ``trying``: ``try`` (the real bot against a fake Telegram, in the terminal)
- ``feedback``: ``feedback export``
- ``console``: what they share: progress, JSON, printed answers, one-line errors

Each group's ``add_commands(add)`` adds its commands with ``add(name, help=...)``. Other
installed packages add theirs the same way through the ``hoptac.commands`` entry points
(the measuring tools: ``bench``, ``eval``, ``loadtest``), so hoptac never imports them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from hoptac import __version__
from hoptac.cli import ask, bot, corpus, db, feedback, model, trying, worker
from hoptac.cli.console import UserError, known_errors, print_error
from hoptac.settings import Settings

#: Entry points of this group are functions ``add_commands(add)`` like the groups' own.
COMMANDS_GROUP = "hoptac.commands"
GROUPS = (ask, corpus, worker, model, db, bot, trying, feedback)


def _add_folder_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--corpus-dir", type=Path, default=default, help="article folder (default: setting corpus_dir)")
    parser.add_argument(
        "--data-dir", type=Path, default=default, help="index/cache/model folder (default: setting data_dir)"
    )


def installed_commands() -> list[EntryPoint]:
    """The ``hoptac.commands`` entry points of the installed packages, by name."""
    return sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name)


def _load(entry: EntryPoint) -> Callable[..., None] | None:
    """The entry point's ``add_commands``; None when its package is not installed (a deployment
    that ships without the measuring tools), any other import error raised."""
    try:
        loaded: Callable[..., None] = entry.load()
    except ModuleNotFoundError as exc:
        if exc.name and (entry.module == exc.name or entry.module.startswith(f"{exc.name}.")):
            return None
        raise
    return loaded


class Parser(argparse.ArgumentParser):
    """A parser whose usage errors are a :class:`UserError` (one line, exit code 1, as every
    other mistake) instead of argparse's usage text and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hoptac",
        description="Grounded answers about Vietnamese regional-cooperation news, quoting the articles.",
    )
    parser.add_argument("--version", action="version", version=f"hoptac {__version__}")
    _add_folder_options(parser, default=None)
    # The same options after the command too ("hoptac ask --data-dir D ..."); given there, they win.
    folders = Parser(add_help=False)
    _add_folder_options(folders, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, **options: Any) -> argparse.ArgumentParser:
        options.setdefault("description", options.get("help"))  # `hoptac NAME --help` says what it does
        return sub.add_parser(name, parents=[folders], **options)

    for group in GROUPS:
        group.add_commands(add)
    for entry in installed_commands():
        add_commands = _load(entry)
        if add_commands is not None:
            add_commands(add)
    return parser


@contextmanager
def _says_where_data_is_created(data_dir: Path) -> Iterator[None]:
    """Tell the user, once, where a command made the data folder (index, model, state)."""
    existed = data_dir.exists()
    try:
        yield
    finally:
        if not existed and data_dir.exists():
            print(
                f"hoptac: created the data folder {data_dir.resolve()} (the index, the model and the bot's state; "
                "HOPTAC_DATA_DIR or --data-dir chooses another)",
                file=sys.stderr,
            )


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.corpus_dir is not None:
        overrides["corpus_dir"] = args.corpus_dir
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(f"invalid setting {where} (HOPTAC_{where.upper()}): {first['msg']}") from None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UserError as exc:
        print_error(str(exc))
        return 1
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        settings = _settings(args)
        with _says_where_data_is_created(settings.data_dir):
            return func(args, settings)
    except KeyboardInterrupt:
        print("hoptac: interrupted; the previous index is still being served", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hoptac status | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except known_errors() as exc:
        print_error(str(exc))
        return 1
