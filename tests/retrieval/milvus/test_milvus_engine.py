"""The answer engine over Milvus Lite answers as the local engine does, and follows the corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hoptac.cli import main
from hoptac.settings import Settings
from retrieval.local.engine import LocalEngine
from retrieval.milvus.engine import MilvusEngine
from retrieval.milvus.index import MilvusIndex
from retrieval.vietnamese.analyzer import Analyzer
from tests.conftest import DATED, PARITY_QUESTIONS, HashingEmbedder

pytest.importorskip("milvus_lite")


@pytest.fixture
def engines(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    for path in DATED.iterdir():
        shutil.copy(path, settings.corpus_dir / path.name)
    embedder = HashingEmbedder()
    local = LocalEngine(settings.engine_config(), embedder=embedder)  # type: ignore[arg-type]
    local.reindex()
    milvus = MilvusIndex.connect(str(tmp_path / "m.db"), "e", embedder.model_id, embedder.dimension,
                                 Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    engine = MilvusEngine(settings.engine_config(), milvus, embedder)  # type: ignore[arg-type]
    engine.reindex()
    yield local, engine
    engine.close()


def test_the_same_answers_as_the_local_engine(engines) -> None:  # type: ignore[no-untyped-def]
    local, remote = engines
    for question in PARITY_QUESTIONS:
        for offset in (0, 1):
            mine, theirs = local.ask(question, offset=offset), remote.ask(question, offset=offset)
            assert (theirs.found, theirs.answer, theirs.confidence) == (mine.found, mine.answer, mine.confidence)
            assert [(c.article_id, c.start, c.end, c.title, c.published) for c in theirs.citations] == [
                (c.article_id, c.start, c.end, c.title, c.published) for c in mine.citations
            ]
    assert [a.id for a in remote.latest_articles(3)] == [a.id for a in local.latest_articles(3)]
    answer = remote.ask(PARITY_QUESTIONS[0])
    quote = answer.citations[0]
    assert quote.sentence in remote.paragraph_around(quote.article_id, quote.start)
    around = remote.paragraph_around(quote.article_id, quote.start)
    assert around == local.paragraph_around(quote.article_id, quote.start)
    status, expected = remote.status(), local.status()
    assert (status.articles, status.passages, status.sentences) == (3, expected.passages, expected.sentences)
    assert status.index_kind == "milvus"


def test_ingest_and_hand_edits_reach_milvus(engines, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, engine = engines
    new = tmp_path / "new.md"
    new.write_text(
        "---\nid: cau-moi\ntitle: Khởi công cầu Hòa Bình Mới\npublished: 2025-08-01\nsource: Báo Test\n---\n\n"
        "Sáng nay, tỉnh khởi công cầu Hòa Bình Mới bắc qua sông Lô, tổng vốn 500 tỷ đồng.\n",
        encoding="utf-8",
    )
    report = engine.ingest([new])
    assert report.ok and report.changes == {"cau-moi": "new"}
    answer = engine.ask("cầu Hòa Bình Mới khởi công khi nào?")
    assert answer.found and answer.citations[0].article_id == "cau-moi"
    # Deleted from the folder by hand: gone from Milvus at the next ingest.
    for path in settings.corpus_dir.iterdir():
        if "cau-moi" in path.read_text(encoding="utf-8"):
            path.unlink()
    engine.ingest([])
    assert "cau-moi" not in engine.milvus.indexed()
    assert all(c.article_id != "cau-moi" for c in engine.ask("cầu Hòa Bình Mới khởi công khi nào?").citations)


NEW_ARTICLE = (
    "---\nid: cau-moi\ntitle: Khởi công cầu Hòa Bình Mới\npublished: 2025-08-01\nsource: Báo Test\n---\n\n"
    "Sáng nay, tỉnh khởi công cầu Hòa Bình Mới bắc qua sông Lô, tổng vốn 500 tỷ đồng.\n"
)


def test_an_interrupted_ingest_into_milvus_leaves_the_folder_as_it_was_and_a_leftover_is_new(  # type: ignore[no-untyped-def]
    engines, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, engine = engines
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    new = tmp_path / "new.md"
    new.write_text(NEW_ARTICLE, encoding="utf-8")

    def interrupt(*_args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(engine.milvus, "put", interrupt)
        with pytest.raises(KeyboardInterrupt):
            engine.ingest([new])
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before
    (settings.corpus_dir / "left-over.md").write_text(NEW_ARTICLE, encoding="utf-8")  # as kill -9 would leave it
    shutil.copy(settings.corpus_dir / "left-over.md", settings.corpus_dir / "zz-copy.md")
    report = engine.ingest([new])
    assert report.changes == {"cau-moi": "new"}
    assert [(f.path, f.reason.split(",")[0]) for f in report.failures] == [
        (str(settings.corpus_dir / "zz-copy.md"), "duplicate id 'cau-moi'")
    ]
    assert not (settings.corpus_dir / "cau-moi.md").exists()  # taken where it lies
    assert "cau-moi" in engine.milvus.indexed()


@pytest.mark.model
def test_the_cli_answers_from_milvus(tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    os.environ["HOPTAC_SEARCH_URL"] = str(tmp_path / "milvus.db")
    try:
        assert main(["--data-dir", str(data), "ask", "cau Dong Viet o dau"]) == 0
        out = capsys.readouterr().out
        assert "cầu Đồng Việt" in out and "Báo Hải Dương" in out
        assert main(["--data-dir", str(data), "status", "--json"]) == 0
        assert '"index_kind": "milvus"' in capsys.readouterr().out
    finally:
        del os.environ["HOPTAC_SEARCH_URL"]


def test_a_build_in_batches_scores_as_one_local_build(engines, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import retrieval.milvus.engine

    local, remote = engines
    monkeypatch.setattr(retrieval.milvus.engine, "WRITE_BATCH", 1)  # one article a batch
    remote.reindex()
    for question in PARITY_QUESTIONS[:3]:
        mine, theirs = local.ask(question), remote.ask(question)
        assert (theirs.answer, [round(c.score, 4) for c in theirs.citations]) == (
            mine.answer, [round(c.score, 4) for c in mine.citations]
        )  # fmt: skip


def test_a_new_deployment_starts_empty_and_says_not_found(settings: Settings, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    milvus = MilvusIndex.connect(str(tmp_path / "empty.db"), "e", embedder.model_id, embedder.dimension,
                                 Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    engine = MilvusEngine(settings.engine_config(), milvus, embedder, source=list)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no articles to index"):
        engine.reindex()
    engine.reindex(allow_empty=True)
    assert engine.status().articles == 0
    assert not engine.ask("cầu Đồng Việt ở đâu?").found
    engine.close()
