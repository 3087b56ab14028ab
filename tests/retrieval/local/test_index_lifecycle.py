"""Index lifecycle: build, atomic swap, failures half-way, corruption, ingest updates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoptac.settings import Settings
from retrieval.engine import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.local.engine import LocalEngine
from retrieval.local.index import IndexStore
from tests.conftest import HashingEmbedder

NEW_ARTICLE = {
    "id": "bg-2024-01",
    "title": "Bắc Giang và Hải Dương khởi công cầu Đồng Việt",
    "published": "2024-01-15T09:00:00+07:00",
    "source": "Báo Bắc Giang",
    "body": "Sáng 15.1, hai tỉnh khởi công xây dựng cầu Đồng Việt. Cầu dài 1,2 km, vốn đầu tư 1.200 tỷ đồng.",
}


def _engine(settings: Settings, embedder: HashingEmbedder | None = None) -> LocalEngine:
    return LocalEngine(settings.engine_config(), embedder=embedder or HashingEmbedder())  # type: ignore[arg-type]


def _write_jsonl(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _passage_texts(engine: LocalEngine) -> str:
    """The texts of the articles whose passages can still be returned (superseded copies stay
    stored beside a delta until the next full rebuild, but are never searched)."""
    index = engine.index
    live = [p for p in range(len(index.passage_rows)) if index.is_live_passage(p)]
    return "\n".join(index.articles[a].text for a in {int(index.passage_rows[p, 0]) for p in live})


def test_reindex_builds_a_complete_index_and_status_counts_it(settings: Settings) -> None:
    status = _engine(settings).reindex()
    assert (status.articles, status.sentences) == (1, 24)
    assert status.passages >= 5
    assert status.index_bytes > 0
    assert IndexStore(settings.engine_config().index_root).current_version() == status.version


def test_a_failure_half_way_leaves_the_old_index_serving(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(settings)
    before = engine.reindex().version
    settings.corpus_dir.joinpath("extra.md").write_text(
        "---\nid: extra\ntitle: Bài mới\n---\n\nNội dung bài mới về hợp tác.\n", "utf-8"
    )

    def explode(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the new index is being written

    monkeypatch.setattr("retrieval.local.dense.DenseIndex.save", explode)
    with pytest.raises(KeyboardInterrupt):
        engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    assert store.current_version() == before
    assert not list(store.versions.glob(".staging-*"))
    reopened = _engine(settings)
    assert reopened.status().articles == 1
    assert reopened.status().version == before


def test_a_malformed_corpus_file_refuses_the_reindex_and_keeps_the_old_index(settings: Settings) -> None:
    engine = _engine(settings)
    before = engine.reindex().version
    settings.corpus_dir.joinpath("broken.md").write_text("no front matter here", "utf-8")
    with pytest.raises(CorpusError, match=r"broken\.md"):
        engine.reindex()
    assert IndexStore(settings.engine_config().index_root).current_version() == before


def test_a_corrupt_index_file_is_detected_and_names_the_fix(settings: Settings) -> None:
    engine = _engine(settings)
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    vectors = store.versions / str(store.current_version()) / "passage_vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-8:] = b"\xff" * 8
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="hoptac reindex"):
        store.load()


def test_an_unreadable_manifest_is_reported_as_corrupt(settings: Settings) -> None:
    _engine(settings).reindex()
    store = IndexStore(settings.engine_config().index_root)
    (store.versions / str(store.current_version()) / "manifest.json").write_text("{not json", "utf-8")
    with pytest.raises(IndexCorruptError, match="hoptac reindex"):
        store.load()


def test_a_model_change_is_detected(settings: Settings) -> None:
    _engine(settings).reindex()
    with pytest.raises(IndexMismatchError, match="hoptac reindex"):
        IndexStore(settings.engine_config().index_root).load(expected_model="another-model")


def test_no_index_yet_is_reported(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="hoptac reindex"):
        IndexStore(settings.engine_config().index_root).load()


def test_ingest_adds_a_new_article_and_embeds_only_its_text(settings: Settings, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    engine = _engine(settings, embedder)
    engine.reindex()
    embedder.embedded.clear()
    report = engine.ingest([_write_jsonl(tmp_path / "new.jsonl", NEW_ARTICLE)])
    assert report.ok
    assert report.changes == {"bg-2024-01": "new"}
    assert [a.id for a in report.new_articles] == ["bg-2024-01"]
    assert engine.status().articles == 2
    # The cache is the real Embedder's job; the fake sees every text, so check the rebuild happened once.
    assert any("khởi công" in text for text in embedder.embedded)


def test_reingesting_an_unchanged_article_is_a_no_op(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    source = _write_jsonl(tmp_path / "new.jsonl", NEW_ARTICLE)
    engine.ingest([source])
    version = engine.status().version
    report = engine.ingest([source])
    assert report.changes == {"bg-2024-01": "unchanged"}
    assert report.new_articles == []
    assert engine.status().version == version


def test_a_changed_article_replaces_the_old_one_without_stale_passages(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    engine.ingest([_write_jsonl(tmp_path / "v1.jsonl", NEW_ARTICLE)])
    changed = {**NEW_ARTICLE, "body": "Sáng 15.1, hai tỉnh khánh thành cầu Đồng Việt sau hai năm thi công."}
    report = engine.ingest([_write_jsonl(tmp_path / "v2.jsonl", changed)])
    assert report.changes == {"bg-2024-01": "updated"}
    assert report.new_articles == []
    texts = _passage_texts(engine)
    assert "khánh thành" in texts
    assert "1.200 tỷ đồng" not in texts
    assert engine.status().articles == 2


def test_a_bad_file_is_reported_and_the_others_still_go_in(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n", "utf-8")
    good = _write_jsonl(tmp_path / "good.jsonl", NEW_ARTICLE)
    report = engine.ingest([bad, good])
    assert not report.ok
    assert report.failures[0].path.startswith(str(bad))
    assert report.changes == {"bg-2024-01": "new"}
    assert engine.status().articles == 2


def test_another_process_swap_is_picked_up_by_refresh(settings: Settings, tmp_path: Path) -> None:
    reader = _engine(settings)
    reader.reindex()
    assert reader.refresh() is False
    writer = _engine(settings)
    writer.ingest([_write_jsonl(tmp_path / "new.jsonl", NEW_ARTICLE)])
    assert reader.refresh() is True
    assert reader.status().articles == 2


def test_an_empty_corpus_is_a_clear_error_not_a_crash(settings: Settings) -> None:
    for path in settings.corpus_dir.iterdir():
        path.unlink()
    with pytest.raises(CorpusError, match="holds no articles"):
        _engine(settings).reindex()


def test_ingest_into_a_missing_corpus_folder_creates_it(settings: Settings, tmp_path: Path) -> None:
    settings.corpus_dir = tmp_path / "new-corpus"
    report = _engine(settings).ingest([_write_jsonl(tmp_path / "new.jsonl", NEW_ARTICLE)])
    assert report.changes == {"bg-2024-01": "new"}
    assert (settings.corpus_dir / "bg-2024-01.md").is_file()
