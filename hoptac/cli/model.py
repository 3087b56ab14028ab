"""``hoptac model build``: the embedding model, built once (offline) and checked."""

from __future__ import annotations

import argparse

from hoptac.cli.console import AddCommand
from hoptac.settings import Settings


def add_commands(add: AddCommand) -> None:
    model = add("model", help="build (once) and check the embedding model")
    model.add_argument("action", choices=["build"], help="build: the model built if missing, then loaded and checked")
    model.set_defaults(func=cmd_model)


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import load_model

    embedder = load_model(settings, notify=print)
    print(f"model {embedder.model_id} ready ({embedder.dimension} dimensions)")
    return 0
