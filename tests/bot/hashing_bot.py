"""``hoptac bot`` with the hashing embedder of the tests instead of the model: a replica in
a process of its own that starts in seconds (``python -m tests.bot.hashing_bot``; the
settings from the environment, as ``hoptac bot``)."""

from __future__ import annotations

import sys

from retrieval.config import EngineConfig
from tests.conftest import HashingEmbedder


def main() -> int:
    embedder = HashingEmbedder()
    embedder.warm_up = lambda: None  # type: ignore[attr-defined]
    EngineConfig.load_embedder = lambda self, notify=None: embedder  # type: ignore[assignment,method-assign]
    from hoptac.cli import main as cli

    return cli(["bot"])


if __name__ == "__main__":
    sys.exit(main())
