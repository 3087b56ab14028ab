"""The command line's own texts: a description on every command, a help on every option,
defaults written one way, usage errors as one line with exit code 1 (the README's promise)."""

from __future__ import annotations

import argparse

import pytest

from hoptac import __version__
from hoptac.cli import build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"hoptac": parser, **sub.choices}


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_says_what_it_does_and_every_argument_has_a_help(name: str) -> None:
    parser = _commands()[name]
    assert parser.description, f"`{parser.prog} --help` has no description"
    for action in _arguments(parser):
        where = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
        assert action.help and "\n" not in action.help, f"{where}: no one-line help"


@pytest.mark.parametrize("name", sorted(_commands()))
def test_defaults_are_shown_one_way(name: str) -> None:
    parser = _commands()[name]
    for action in _arguments(parser):
        where = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
        assert "(default " not in (action.help or ""), f"{where}: write '(default: ...)'"
        takes_value = action.nargs != 0 and action.option_strings and not isinstance(action, argparse._VersionAction)
        if takes_value and action.default not in (None, argparse.SUPPRESS):
            assert "(default: " in (action.help or ""), f"{where}: default {action.default!r} not shown"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"hoptac {__version__}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ask", "-k", "abc", "cau Dong Viet o dau"], "hoptac: error: argument -k: invalid int value: 'abc'"),
        ([], "hoptac: error: the following arguments are required: COMMAND"),
        (["frob"], "hoptac: error: argument COMMAND: invalid choice: 'frob'"),
        (["status", "--bogus"], "hoptac: error: unrecognized arguments: --bogus"),
        (["model", "destroy"], "hoptac: error: argument action: invalid choice: 'destroy'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_1(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith(expected), captured.err
    assert "--help`" in captured.err  # where to look next
