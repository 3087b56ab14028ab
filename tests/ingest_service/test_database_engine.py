"""PostgreSQL as the system of record behind the Milvus engine: what the bot ingests goes through
PostgreSQL and the ingest queue, a reindex rebuilds from PostgreSQL, and the version the
notifier watches moves with every change (so a new article is announced)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoptac.settings import Settings
from ingest_service.database_engine import DatabaseEngine, database_articles
from retrieval.milvus.engine import MilvusEngine
from retrieval.milvus.index import MilvusIndex
from retrieval.vietnamese.analyzer import Analyzer
from storage.postgres.articles import ArticleStore
from storage.postgres.database import Database
from storage.postgres.index_generation import live_generation
from storage.postgres.schema import upgrade
from tests.conftest import CORPUS, DATED, HashingEmbedder

pytest.importorskip("milvus_lite")

NEW_ARTICLE = (
    "---\nid: cau-moi\ntitle: Khởi công cầu Hòa Bình Mới\npublished: 2025-08-01\nsource: Báo Test\n---\n\n"
    "Sáng nay, tỉnh khởi công cầu Hòa Bình Mới bắc qua sông Lô, tổng vốn 500 tỷ đồng.\n"
)


@pytest.fixture
def engine(postgres_url: str, settings: Settings, tmp_path: Path) -> Iterator[DatabaseEngine]:
    upgrade(postgres_url)
    db = Database(postgres_url, max_size=4)
    embedder = HashingEmbedder()
    milvus = MilvusIndex.connect(str(tmp_path / "m.db"), "d", embedder.model_id, embedder.dimension,
                                 Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    inner = MilvusEngine(settings.engine_config(), milvus, embedder,  # type: ignore[arg-type]
                         source=functools.partial(database_articles, db))  # fmt: skip
    wrapped = DatabaseEngine(inner, db, "test")
    yield wrapped
    wrapped.close()


def test_ingest_goes_through_postgresql_and_reaches_milvus(engine: DatabaseEngine, tmp_path: Path) -> None:
    report = engine.ingest([CORPUS, DATED])
    assert report.ok and sorted(report.changes.values()) == ["new", "new", "new"]
    assert len(report.new_articles) == 3
    first = engine.status()
    assert first.articles == 3 and first.index_kind == "milvus"
    assert ArticleStore(engine.db).count() == 3

    new = tmp_path / "new.md"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    report = engine.ingest([new, CORPUS])
    assert report.changes == {"cau-moi": "new", **dict.fromkeys(report.changes.keys() - {"cau-moi"}, "unchanged")}
    assert [a.id for a in report.new_articles] == ["cau-moi"]
    assert engine.status().version != first.version  # the notifier sees that articles changed
    assert engine.ingest_queue_depth() == 0
    answer = engine.ask("cầu Hòa Bình Mới khởi công khi nào?")
    assert answer.found and answer.citations[0].article_id == "cau-moi"


def test_reindex_rebuilds_from_postgresql_not_the_folder(engine: DatabaseEngine, settings: Settings) -> None:
    engine.ingest([DATED])
    before = engine.status()
    for path in settings.corpus_dir.iterdir():  # the folder is an import source, not the truth
        path.unlink()
    after = engine.reindex()
    assert after.articles == 2 and after.version != before.version
    assert live_generation(engine.db) == after.version
    assert {a.id for a in engine.latest_articles(5)} == {a.id for a in database_articles(engine.db)}


def test_a_bad_file_is_one_failure_and_the_rest_is_stored(engine: DatabaseEngine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: [broken\n---\ntext\n", encoding="utf-8")
    report = engine.ingest([bad, DATED])
    assert not report.ok and len(report.failures) == 1
    assert engine.status().articles == 2
