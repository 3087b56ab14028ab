"""A scratch copy of the corpus and the index, for ``hoptac try``: the bot tried offline
changes nothing of the real data.

    sandbox = Sandbox.create(settings, Path(tempfile.mkdtemp()))   # the corpus and the current index copied
    settings = sandbox.settings                                    # corpus_dir and data_dir in the copy

What is copied: the corpus folder and the current version of the local index. What is
shared, read as it is: the model folder (``data_dir/models``) and the embedding cache
(``data_dir/cache``, vectors keyed by their text: a new article embedded in the sandbox
only adds a row there). The bot's state (subscriptions, votes, the outbox) starts empty in
the sandbox; PostgreSQL (``database_url``), Milvus (``search_url``) and feeds are not used.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hoptac.settings import Settings
from retrieval.local.index import IndexStore


@dataclass(frozen=True)
class Sandbox:
    root: Path
    settings: Settings  # the real settings, with the sandbox's folders and without remote services

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @classmethod
    def create(cls, settings: Settings, root: Path) -> Sandbox:
        """Copy ``settings``' corpus folder and current local index into ``root`` (which
        must be empty or missing) and link the model and the embedding cache."""
        root.mkdir(parents=True, exist_ok=True)
        if any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty")
        corpus, data = root / "corpus", root / "data"
        if Path(settings.corpus_dir).is_dir():
            shutil.copytree(settings.corpus_dir, corpus)
        else:
            corpus.mkdir()
        data.mkdir()
        _copy_current_index(IndexStore(Path(settings.data_dir) / "index"), data / "index")
        for shared in ("models", "cache"):  # a model built now goes where `hoptac ask` would put it
            source = Path(settings.data_dir) / shared
            source.mkdir(parents=True, exist_ok=True)
            (data / shared).symlink_to(source.resolve(), target_is_directory=True)
        return cls(root, sandboxed(settings, corpus, data))


def sandboxed(settings: Settings, corpus_dir: Path, data_dir: Path) -> Settings:
    """``settings`` over other folders, with the embedded engine and state store, no feeds
    and no watched folder."""
    values = settings.model_dump()
    values.update(
        corpus_dir=corpus_dir,
        data_dir=data_dir,
        database_url=None,
        search_url=None,
        feeds=[],
        corpus_watch_seconds=0,
        telegram_webhook_url=None,
        metrics_port=0,
    )
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def has_index(settings: Settings) -> bool:
    """Whether the local index of ``settings`` has a current version to copy."""
    return IndexStore(Path(settings.data_dir) / "index").current_version() is not None


def _copy_current_index(store: IndexStore, target: Path) -> None:
    """The index folder with only its current version (the others are history)."""
    version = store.current_version()
    if version is None:
        return
    target.mkdir()
    for item in store.root.iterdir():
        if item.is_file() and item.name != ".lock":
            shutil.copy2(item, target / item.name)
    shutil.copytree(store.versions / version, target / "versions" / version)
