"""A build stopped half-way is restarted without embedding again what it had embedded: the
build embeds a block of passages at a time, and each block's vectors reach the embedding
cache before the next block starts (what makes a million-passage build restartable)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hoptac.settings import Settings
from retrieval.local.engine import LocalEngine
from tests.conftest import CORPUS


class _Stopped(Exception):
    """The build stopped from outside (a kill, a full disk) half-way through embedding."""


def test_a_build_stopped_half_way_embeds_only_the_rest_when_run_again(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval import preparation

    shutil.copytree(CORPUS, tmp_path / "corpus")
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    monkeypatch.setattr(preparation, "EMBED_BLOCK_PASSAGES", 2)
    engine = LocalEngine(settings.engine_config())

    def stop_after_two_blocks(stage: str, done: int, total: int) -> None:
        if stage == "embed" and done >= 4 and done < total:
            raise _Stopped

    with pytest.raises(_Stopped):
        engine.reindex(stop_after_two_blocks)
    assert engine.store.current_version() is None  # nothing was swapped in

    again = LocalEngine(settings.engine_config())  # a new process's engine: only the cache is shared
    again.reindex()
    manifest = again.index.manifest
    assert 0 < manifest.embedded <= manifest.passages - 4  # the first two blocks came from the cache
    assert again.ask("cầu Đồng Việt ở đâu?").found

    fresh = Settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "fresh", _env_file=None)  # type: ignore[call-arg]
    (tmp_path / "fresh" / "models").mkdir(parents=True)
    (tmp_path / "fresh" / "models" / model_dir.name).symlink_to(model_dir)
    whole = LocalEngine(fresh.engine_config())
    whole.reindex()
    assert whole.index.manifest.embedded > manifest.embedded  # a build from nothing embeds them all
