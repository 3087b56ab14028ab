"""Start-up: the model and the index load side by side, then one warm-up query."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from hoptac.settings import Settings
from retrieval.embedding.embedder import Embedder, ModelLoadError
from retrieval.local.engine import LocalEngine
from retrieval.local.index import IndexStore
from tests.conftest import HashingEmbedder


class WarmedEmbedder(HashingEmbedder):
    model_id = "test-model+span-sentences"  # what the settings below name (sentence vectors "span")

    def __init__(self) -> None:
        super().__init__()
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1


def _settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        corpus_dir=corpus_copy, data_dir=tmp_path / "data", embedding_model="test-model", _env_file=None
    )


@pytest.fixture
def built(tmp_path: Path, corpus_copy: Path) -> tuple[Settings, WarmedEmbedder]:
    """Settings whose index is built, and the embedder that built it."""
    settings, embedder = _settings(tmp_path, corpus_copy), WarmedEmbedder()
    LocalEngine(settings.engine_config(), embedder=embedder).reindex()  # type: ignore[arg-type]
    return settings, embedder


def test_the_index_loads_while_the_model_is_still_loading(
    built: tuple[Settings, WarmedEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, embedder = built
    index_loading = threading.Event()
    seen: dict[str, Any] = {}
    real_load = IndexStore.load

    def load_index(self: IndexStore, *args: Any, **kwargs: Any) -> Any:
        index_loading.set()
        return real_load(self, *args, **kwargs)

    def load_model(*args: Any, **kwargs: Any) -> WarmedEmbedder:
        # Returns only once the index load has started: a sequential start-up would wait 10 s here.
        seen["index_started_first"] = index_loading.wait(timeout=10)
        return embedder

    monkeypatch.setattr(IndexStore, "load", load_index)
    monkeypatch.setattr(Embedder, "load", load_model)
    engine = LocalEngine.open(settings.engine_config())

    assert seen["index_started_first"] is True
    assert engine.index.manifest.articles >= 1
    assert embedder.warmed == 1


def test_a_model_that_cannot_load_is_reported_after_the_index_loaded(
    built: tuple[Settings, WarmedEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = built

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ModelLoadError("cannot load embedding model 'test-model'")

    monkeypatch.setattr(Embedder, "load", broken)
    with pytest.raises(ModelLoadError, match="test-model"):
        LocalEngine.open(settings.engine_config())


def test_without_an_index_open_builds_one_with_the_loaded_model(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, corpus_copy)
    embedder = WarmedEmbedder()
    monkeypatch.setattr(Embedder, "load", lambda *args, **kwargs: embedder)

    engine = LocalEngine.open(settings.engine_config())

    assert engine.index.manifest.model == "test-model+span-sentences"
    assert embedder.embedded  # the passages and sentences went through this model
    assert embedder.warmed == 1
