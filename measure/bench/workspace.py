"""The benchmark's work folders: each one a product installation of its own, with the model shared.

A folder holds ``corpus/`` and ``data/`` as ``hoptac`` lays them out, with ``data/models``
linked to the product's model folder (nothing is downloaded or copied). The engine opened
on it is the product's own ``LocalEngine``, built from the user's settings with only the
two folders (and any setting a measurement varies) changed, and given the embedder the
benchmark chose.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoptac.settings import Settings
from retrieval.embedding.embedder import Embedder

if TYPE_CHECKING:
    from retrieval.engine import IngestReport


def settings_for(base: Settings, folder: Path) -> Settings:
    """``base`` with its corpus and data folders moved into ``folder`` (the model linked there)."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    models = data / "models"
    if not models.exists() and not models.is_symlink():
        models.symlink_to(base.engine_config().models_dir.resolve(), target_is_directory=True)
    return base.model_copy(update={"corpus_dir": folder / "corpus", "data_dir": data})


def open_engine(base: Settings, folder: Path, embedder: Embedder, **changed: Any) -> Any:
    """The product's engine on ``folder``, with ``changed`` settings, embedding with ``embedder``."""
    from retrieval.local.engine import LocalEngine

    settings = settings_for(base, folder)
    if changed:
        settings = settings.model_copy(update=changed)
    return LocalEngine(settings.engine_config(), embedder=embedder)


def timed_ingest(engine: Any, articles_file: Path) -> tuple[float, IngestReport]:
    """Seconds ``engine`` takes to ingest one JSONL file, and what it reported."""
    started = time.perf_counter()
    report = engine.ingest([articles_file])
    return time.perf_counter() - started, report
