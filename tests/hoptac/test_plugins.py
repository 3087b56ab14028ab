"""The measuring tools add their commands through entry points; the product never imports them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hoptac.cli import installed_commands, main
from tests.conftest import REPO

RUNTIME_PACKAGES = [
    "hoptac",
    "bot",
    "ingest_service",
    "news_pipeline",
    "notifications",
    "storage",
    "markup",
    "retrieval",
]


def test_the_measuring_tools_register_bench_eval_loadtest_and_train_selector() -> None:
    registered = {entry.name: entry.module for entry in installed_commands()}
    assert registered == dict.fromkeys(("bench", "eval", "loadtest", "train-selector"), "measure.commands")


def test_hoptac_help_lists_the_registered_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("    ")}
    assert {"bench", "eval", "loadtest", "ask", "ingest", "worker", "status"} <= listed


def test_a_command_whose_package_is_absent_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    absent = EntryPoint("gone", "not_installed_tools.commands:add_gone", "hoptac.commands")
    monkeypatch.setattr("hoptac.cli.installed_commands", lambda: [absent])
    from hoptac.cli import build_parser

    parser = build_parser()
    commands = {choice for action in parser._actions if action.dest == "command" for choice in action.choices or ()}
    assert "gone" not in commands and "ask" in commands


def test_importing_every_runtime_module_imports_neither_measure_nor_matplotlib() -> None:
    # A fresh interpreter: this one has imported the measuring tools already.
    script = f"""
import importlib, pkgutil, sys
for name in {RUNTIME_PACKAGES!r}:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("measure", "matplotlib")))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
