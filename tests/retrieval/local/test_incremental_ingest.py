"""Incremental ingest: a delta beside the base instead of a full rebuild, with results as a
rebuild would give them, no stale passages, and the version swap and checks still in force."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import bm25s
import numpy as np
import pytest

from hoptac.settings import Settings
from retrieval.articles.corpus import article_path, article_to_markdown, read_corpus, save_article
from retrieval.articles.importers import article_from_record
from retrieval.articles.intake import CorpusWrites
from retrieval.engine import CorpusError, IndexCorruptError, IndexMismatchError, IndexWriteError
from retrieval.local import engine as engine_module
from retrieval.local import index as index_module
from retrieval.local.corpus_state import CorpusStateStore
from retrieval.local.dense import DenseIndex, DenseIndexKind, LiveDense
from retrieval.local.engine import LocalEngine
from retrieval.local.index import IndexStore, corpus_fingerprint
from retrieval.local.postings import LexicalIndex, Postings
from retrieval.vietnamese.analyzer import Analyzer
from tests.conftest import HashingEmbedder
from tests.file_opens import files_opened

BRIDGE = {
    "id": "bg-2024-01",
    "title": "Bắc Giang và Hải Dương khởi công cầu Đồng Việt",
    "published": "2024-01-15T09:00:00+07:00",
    "source": "Báo Bắc Giang",
    "body": "Sáng 15.1, hai tỉnh khởi công xây dựng cầu Đồng Việt. Cầu dài 1,2 km, vốn đầu tư 1.200 tỷ đồng.",
}
BRIDGE_V2 = {**BRIDGE, "body": "Sáng 15.1, hai tỉnh khánh thành cầu Đồng Việt sau hai năm thi công."}
TOURISM = {
    "id": "hp-2024-02",
    "title": "Hải Phòng và Quảng Ninh hợp tác phát triển du lịch",
    "published": "2024-02-03T08:00:00+07:00",
    "source": "Báo Hải Phòng",
    "body": "Hải Phòng và Quảng Ninh ký kết chương trình hợp tác phát triển du lịch giai đoạn 2024-2028. "
    "Hai địa phương sẽ xây dựng tour kết nối vịnh Hạ Long với quần đảo Cát Bà. "
    "Mỗi năm hai bên tổ chức luân phiên một hội chợ du lịch.",
}
TEA = {
    "id": "tn-2024-03",
    "title": "Thái Nguyên và Bắc Kạn liên kết vùng chè",
    "published": "2024-03-11T09:15:00+07:00",
    "source": "Báo Thái Nguyên",
    "body": "Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè đặc sản. "
    "Hai tỉnh thống nhất xây dựng nhãn hiệu chung cho chè Tân Cương và chè Shan tuyết. "
    "Diện tích vùng chè liên kết đạt 500 ha.",
}
TEA_V2 = {
    **TEA,
    "body": "Thái Nguyên và Bắc Kạn mở rộng vùng chè liên kết lên 800 ha. "
    "Hai tỉnh ký thỏa thuận bao tiêu sản phẩm chè cho nông dân. "
    "Nhãn hiệu chung chè Thái Nguyên - Bắc Kạn được công bố tháng 6.",
}
HIGHWAY = {
    "id": "lc-2024-04",
    "title": "Lào Cai và Yên Bái phối hợp nâng cấp cao tốc",
    "published": "2024-04-20T10:00:00+07:00",
    "source": "Báo Lào Cai",
    "body": "Lào Cai và Yên Bái phối hợp nâng cấp cao tốc Nội Bài - Lào Cai. "
    "Dự án mở rộng đoạn qua Yên Bái lên bốn làn xe. Tổng vốn đầu tư khoảng 6.000 tỷ đồng.",
}
LOGISTICS = {
    "id": "hn-2024-05",
    "title": "Hà Nam và Nam Định xây dựng trung tâm logistics",
    "published": "2024-05-02T07:30:00+07:00",
    "source": "Báo Hà Nam",
    "body": "Hà Nam và Nam Định hợp tác xây dựng trung tâm logistics trên sông Đáy. "
    "Trung tâm có cảng cạn với công suất 2 triệu tấn mỗi năm. Dự kiến hoàn thành vào năm 2026.",
}
QUESTIONS = [
    "Vùng chè liên kết của Thái Nguyên và Bắc Kạn rộng bao nhiêu ha?",
    "trung tam logistics song Day cong suat bao nhieu",
    "Cao tốc Nội Bài - Lào Cai mở rộng mấy làn xe?",
    "Hải Phòng và Quảng Ninh hợp tác du lịch thế nào?",
    "Cầu Đồng Việt bắc qua sông nào?",
    "Chủ tịch UBND tỉnh Hải Dương là ai?",
    "nhãn hiệu chung chè Tân Cương",
]


def _engine(settings: Settings, embedder: HashingEmbedder | None = None) -> LocalEngine:
    return LocalEngine(settings.engine_config(), embedder=embedder or HashingEmbedder())  # type: ignore[arg-type]


def _jsonl(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _base_and_a_delta(settings: Settings, tmp_path: Path) -> LocalEngine:
    """An engine over a full build of the corpus plus one delta: BRIDGE, ingested after it."""
    engine = _engine(settings)
    engine.reindex()
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE)])
    return engine


def _no_full_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a full rebuild was not expected here")

    monkeypatch.setattr("retrieval.local.engine.build_index", refuse)


def _ranked(engine: LocalEngine, question: str) -> list[tuple[str, str]]:
    """The fused passage ranking as (article id, passage text): row numbers differ between builds."""
    index = engine.index
    query = engine.embedder().encode_query(question)
    ranked = engine.searcher.passages(index, question, query)
    out = []
    for item in ranked:
        rows = index.passage_sentences(item.passage)
        text = " ".join(index.sentence(r).text for r in rows)
        out.append((index.article_of_passage(item.passage).id, text))
    return out


def _cited(engine: LocalEngine, question: str) -> list[tuple[str, int, int, str]]:
    return [(c.article_id, c.start, c.end, c.sentence) for c in engine.ask(question).citations]


def test_a_new_article_goes_into_a_delta_beside_the_unchanged_base(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(settings)
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    before = store.read_manifest()
    _no_full_rebuild(monkeypatch)

    report = engine.ingest([_jsonl(tmp_path / "new.jsonl", BRIDGE)])

    assert report.changes == {"bg-2024-01": "new"}
    after = store.read_manifest()
    assert after.version != before.version
    assert after.base_version == before.version
    assert [(d["name"], d["articles"]) for d in after.delta] == [("0001", 1)]
    assert (after.articles, after.passages) == (2, before.passages + after.delta[0]["passages"])
    old, new = store.versions / before.version, store.versions / after.version
    for name in ("article_records.bin", "sentence_vectors.npy", "dense.faiss", "postings_doc_gaps.npy"):
        assert os.stat(old / name).st_ino == os.stat(new / name).st_ino  # hard links, not rewritten
        assert after.files[name] == before.files[name]
    assert any(name.startswith("delta/0001/") for name in after.files)
    answer = engine.ask("vốn đầu tư cầu Đồng Việt")
    assert answer.found
    assert answer.citations[0].article_id == "bg-2024-01"
    assert answer.citations[0].sentence == "Cầu dài 1,2 km, vốn đầu tư 1.200 tỷ đồng."


def test_a_changed_article_is_never_returned_in_its_old_version(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "v1.jsonl", BRIDGE)])  # no index yet: a full build with it in the base
    assert IndexStore(settings.engine_config().index_root).read_manifest().delta == []
    _no_full_rebuild(monkeypatch)

    report = engine.ingest([_jsonl(tmp_path / "v2.jsonl", BRIDGE_V2)])

    assert report.changes == {"bg-2024-01": "updated"}
    assert engine.status().articles == 2
    assert engine.article("bg-2024-01").text == BRIDGE_V2["body"]
    for question in ("vốn đầu tư cầu Đồng Việt 1.200 tỷ đồng", "cầu Đồng Việt dài 1,2 km", "khởi công cầu Đồng Việt"):
        assert all("1.200 tỷ" not in text and "khởi công" not in text for _, text in _ranked(engine, question))
        assert all("1.200 tỷ" not in sentence for *_, sentence in _cited(engine, question))
    answer = engine.ask("cầu Đồng Việt khánh thành khi nào")
    assert answer.found
    assert answer.citations[0].sentence == BRIDGE_V2["body"]
    # A second change supersedes the delta's own copy too.
    engine.ingest([_jsonl(tmp_path / "v3.jsonl", {**BRIDGE, "body": "Cầu Đồng Việt thu phí từ tháng 3."})])
    texts = [text for _, text in _ranked(engine, "cầu Đồng Việt khánh thành thi công thu phí")]
    assert any("thu phí" in t for t in texts)
    assert not any("khánh thành" in t or "khởi công" in t for t in texts)
    assert engine.status().articles == 2
    assert [a.id for a in engine.latest_articles(10)].count("bg-2024-01") == 1


def test_reingesting_an_unchanged_article_after_a_delta_writes_no_version(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    engine.reindex()
    source = _jsonl(tmp_path / "new.jsonl", BRIDGE)
    engine.ingest([source])
    version = engine.status().version
    report = engine.ingest([source])
    assert report.changes == {"bg-2024-01": "unchanged"}
    assert engine.status().version == version
    assert IndexStore(settings.engine_config().index_root).current_version() == version
    assert engine.ingest([]).changes == {}
    assert IndexStore(settings.engine_config().index_root).current_version() == version


def test_results_after_incremental_ingests_equal_those_of_a_full_rebuild(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incremental = _engine(settings)
    incremental.ingest([_jsonl(tmp_path / "base.jsonl", TOURISM, TEA, HIGHWAY)])  # the base
    with monkeypatch.context() as patched:
        _no_full_rebuild(patched)
        incremental.ingest([_jsonl(tmp_path / "a.jsonl", LOGISTICS)])
        incremental.ingest([_jsonl(tmp_path / "b.jsonl", TEA_V2, BRIDGE)])
    manifest = IndexStore(settings.engine_config().index_root).read_manifest()
    assert len(manifest.delta) == 2

    rebuilt_settings = Settings(corpus_dir=settings.corpus_dir, data_dir=tmp_path / "rebuilt", _env_file=None)  # type: ignore[call-arg]
    rebuilt = _engine(rebuilt_settings)
    status = rebuilt.reindex()

    assert incremental.status().articles == status.articles == 6
    assert incremental.status().passages == status.passages
    assert incremental.status().sentences == status.sentences
    assert incremental.status().corpus_fingerprint == status.corpus_fingerprint
    for question in QUESTIONS:
        assert _ranked(incremental, question)[:5] == _ranked(rebuilt, question)[:5], question
        assert _cited(incremental, question) == _cited(rebuilt, question), question


def test_the_manifest_fingerprint_is_that_of_the_corpus_folder(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    engine.reindex()
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE, TEA)])
    engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA_V2)])
    expected = corpus_fingerprint(read_corpus(settings.corpus_dir).articles)
    assert IndexStore(settings.engine_config().index_root).read_manifest().corpus_fingerprint == expected
    assert engine.index.corpus_fingerprint() == expected


def test_another_process_loads_and_verifies_base_plus_delta(settings: Settings, tmp_path: Path) -> None:
    reader = _engine(settings)
    reader.reindex()
    writer = _engine(settings)
    writer.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE)])
    writer.ingest([_jsonl(tmp_path / "b.jsonl", TEA)])

    assert reader.refresh() is True
    assert reader.status().version == writer.status().version
    assert reader.status().articles == 3
    assert reader.ask("vốn đầu tư cầu Đồng Việt").citations[0].article_id == "bg-2024-01"
    fresh = _engine(settings)
    assert _cited(fresh, "Diện tích vùng chè liên kết") == _cited(writer, "Diện tích vùng chè liên kết")
    assert _ranked(fresh, "nhãn hiệu chung chè") == _ranked(writer, "nhãn hiệu chung chè")

    store = IndexStore(settings.engine_config().index_root)
    vectors = store.versions / str(store.current_version()) / "delta" / "0002" / "sentence_vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-4:] = b"\xff" * 4
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="hoptac reindex"):
        store.load()


def test_a_delta_file_that_disappeared_is_reported_as_corrupt(settings: Settings, tmp_path: Path) -> None:
    _base_and_a_delta(settings, tmp_path)
    store = IndexStore(settings.engine_config().index_root)
    (store.versions / str(store.current_version()) / "delta" / "0001" / "article_records.bin").unlink()
    with pytest.raises(IndexCorruptError, match="hoptac reindex"):
        store.load()


def test_a_big_enough_delta_is_compacted_by_a_full_rebuild(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _base_and_a_delta(settings, tmp_path)
    store = IndexStore(settings.engine_config().index_root)
    assert len(store.read_manifest().delta) == 1

    monkeypatch.setattr(index_module, "DELTA_MIN_PASSAGES", 0)
    monkeypatch.setattr(index_module, "DELTA_FRACTION", 0.0)
    engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA)])

    manifest = store.read_manifest()
    assert manifest.delta == [] and manifest.removed == []
    assert manifest.base_version == manifest.version
    assert manifest.articles == 3
    assert _engine(settings).status().articles == 3  # the compacted version loads
    assert engine.ask("vốn đầu tư cầu Đồng Việt").citations[0].article_id == "bg-2024-01"


def test_too_many_delta_segments_are_compacted(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "DELTA_MAX_SEGMENTS", 2)
    engine = _engine(settings)
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    for n, record in enumerate((BRIDGE, TEA), start=1):
        engine.ingest([_jsonl(tmp_path / f"{n}.jsonl", record)])
        assert len(store.read_manifest().delta) == n
    engine.ingest([_jsonl(tmp_path / "3.jsonl", HIGHWAY)])
    assert store.read_manifest().delta == []
    assert store.read_manifest().articles == 4


def test_a_reindex_always_writes_a_fresh_base_without_delta(settings: Settings, tmp_path: Path) -> None:
    engine = _base_and_a_delta(settings, tmp_path)
    status = engine.reindex()
    manifest = IndexStore(settings.engine_config().index_root).read_manifest()
    assert manifest.delta == [] and manifest.base_version == manifest.version == status.version
    assert status.articles == 2


def test_an_interrupted_incremental_ingest_leaves_the_previous_version_serving(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _base_and_a_delta(settings, tmp_path)
    store = IndexStore(settings.engine_config().index_root)
    before = store.current_version()

    def explode(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the delta is being written

    with monkeypatch.context() as patched:
        patched.setattr(Postings, "save", explode)
        with pytest.raises(KeyboardInterrupt):
            engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA)])

    assert store.current_version() == before
    assert not list(store.versions.glob(".staging-*"))
    assert engine.status().version == before
    assert "tn-2024-03" not in engine.index.article_index
    reopened = _engine(settings)
    assert reopened.status().version == before and reopened.status().articles == 2
    # The article was never left in the corpus folder: ingesting it again makes it new.
    assert not article_path(settings.corpus_dir, "tn-2024-03").exists()
    assert engine.ingest([]).changes == {}
    assert engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA)]).changes == {"tn-2024-03": "new"}
    assert engine.status().articles == 3
    assert engine.ask("Diện tích vùng chè liên kết").citations[0].article_id == "tn-2024-03"


def _folder(settings: Settings) -> dict[str, tuple[bytes, int, int]]:
    """Every file in the corpus folder, hidden ones too: its bytes, modification time and inode."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in sorted(settings.corpus_dir.iterdir())
    }


def test_an_ingest_interrupted_while_indexing_leaves_the_corpus_folder_as_it_was(
    settings: Settings, tmp_path: Path
) -> None:
    """`timeout -s INT 45 hoptac ingest huge.txt`: the article stayed in the folder and the next
    ingest took it in, reporting it "unchanged" (issue 23)."""
    engine = _base_and_a_delta(settings, tmp_path)
    before, version = _folder(settings), engine.status().version

    def interrupt(stage: str, done: int, total: int) -> None:
        if stage == "index":
            raise KeyboardInterrupt  # Ctrl-C while the delta is built

    with pytest.raises(KeyboardInterrupt):
        engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA, BRIDGE_V2)], interrupt)

    assert _folder(settings) == before  # the new file gone, the changed one back, inode and all
    assert engine.status().version == version
    report = engine.ingest([_jsonl(tmp_path / "c.jsonl", TEA)])
    assert report.changes == {"tn-2024-03": "new"}
    assert [a.id for a in report.new_articles] == ["tn-2024-03"]
    assert engine.article("bg-2024-01").text == BRIDGE["body"]


def test_an_ingest_whose_index_cannot_be_written_leaves_the_corpus_folder_as_it_was(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _base_and_a_delta(settings, tmp_path)
    before, version = _folder(settings), engine.status().version

    def no_space(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(Postings, "save", no_space)
        with pytest.raises(IndexWriteError, match="No space left"):
            engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA)])
    assert _folder(settings) == before
    assert engine.status().version == version


class _Killed(BaseException):
    pass


def _killed_after_writing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: dict[str, str]
) -> None:
    """An ingest of ``record`` by another process, killed once it wrote the article file: nothing
    undone (the test_faults tests send a real SIGKILL at the same point, in a child process)."""

    def kill(point: str) -> None:
        if point == "after-corpus-write":
            raise _Killed

    with monkeypatch.context() as patched:
        patched.setattr(engine_module, "crash_point", kill)
        patched.setattr(CorpusWrites, "roll_back", lambda self: None)  # the two undo steps of an ingest
        patched.setattr(CorpusStateStore, "forget_pending", lambda self, names: None)
        with pytest.raises(_Killed):
            _engine(settings).ingest([_jsonl(tmp_path / "killed.jsonl", record)])


def test_an_article_left_in_the_folder_by_a_killed_ingest_is_reported_new_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed ingest (kill -9: nothing to undo) can leave its file behind; the next ingest
    makes it searchable and reports it "new", whichever files it was given; then never again."""
    engine = _base_and_a_delta(settings, tmp_path)
    _killed_after_writing(settings, tmp_path, monkeypatch, TEA)
    assert article_path(settings.corpus_dir, TEA["id"]).exists()

    report = engine.ingest([_jsonl(tmp_path / "small.jsonl", HIGHWAY)])

    assert report.changes == {"lc-2024-04": "new", "tn-2024-03": "new"}
    assert sorted(a.id for a in report.new_articles) == ["lc-2024-04", "tn-2024-03"]
    assert engine.status().articles == 4
    again = engine.ingest([_jsonl(tmp_path / "tea.jsonl", TEA)])
    assert again.changes == {"tn-2024-03": "unchanged"} and again.new_articles == []


def test_the_same_file_ingested_again_after_it_was_left_behind_is_new(settings: Settings, tmp_path: Path) -> None:
    engine = _base_and_a_delta(settings, tmp_path)
    save_article(settings.corpus_dir, article_from_record(TEA))  # in the folder, never searchable
    report = engine.ingest([_jsonl(tmp_path / "tea.jsonl", TEA)])
    assert report.changes == {"tn-2024-03": "new"}
    assert [a.id for a in report.new_articles] == ["tn-2024-03"]


def _write(folder: Path, name: str, record: dict[str, str]) -> Path:
    """``record`` as an article file of the corpus format, under ``name``."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_to_markdown(article_from_record(record)), "utf-8")
    return path


def test_an_article_file_under_another_name_is_taken_as_it_is_and_blocks_no_later_ingest(
    settings: Settings, tmp_path: Path
) -> None:
    """`cb-ls.md` holding another id, then `hoptac ingest cb-ls.md` from elsewhere: the id-named
    copy was written, and every later ingest failed on the duplicate (issue 23)."""
    engine = _engine(settings)
    _write(settings.corpus_dir, "cb-ls.md", BRIDGE)
    engine.reindex()

    report = engine.ingest([_write(tmp_path / "elsewhere", "cb-ls.md", BRIDGE)])

    assert report.changes == {"bg-2024-01": "unchanged"} and report.ok
    assert not article_path(settings.corpus_dir, "bg-2024-01").exists()
    changed = engine.ingest([_write(tmp_path / "elsewhere", "cb-ls.md", BRIDGE_V2)])
    assert changed.changes == {"bg-2024-01": "updated"} and changed.ok
    assert "khánh thành" in (settings.corpus_dir / "cb-ls.md").read_text("utf-8")  # where it lies
    assert not article_path(settings.corpus_dir, "bg-2024-01").exists()
    later = engine.ingest([_jsonl(tmp_path / "tea.jsonl", TEA)])
    assert later.changes == {"tn-2024-03": "new"} and later.ok
    assert engine.status().articles == 3


def test_a_second_file_of_one_id_is_reported_with_both_names_and_blocks_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    engine = _engine(settings)
    engine.reindex()
    seed = next(settings.corpus_dir.glob("*.md"))
    shutil.copy(seed, settings.corpus_dir / "zz-copy.md")

    named = engine.ingest([_jsonl(tmp_path / "tea.jsonl", TEA)])  # reads no other file: the copy unseen
    assert named.changes == {"tn-2024-03": "new"} and named.ok
    report = engine.ingest([_jsonl(tmp_path / "bridge.jsonl", BRIDGE)], whole_folder=True)  # as the watcher

    assert report.changes == {"bg-2024-01": "new"}
    assert [(f.path, f.reason) for f in report.failures] == [
        (str(settings.corpus_dir / "zz-copy.md"), f"duplicate id {seed.stem!r}, already in {seed.name}: "
         "remove one of the two files")
    ]  # fmt: skip
    assert engine.status().articles == 3
    with pytest.raises(CorpusError, match=r"zz-copy\.md: duplicate id .* remove one of the two files"):
        engine.reindex()  # a rebuild asked for by hand: the folder first


def test_of_two_files_of_one_id_the_one_named_for_it_counts(settings: Settings, tmp_path: Path) -> None:
    _write(settings.corpus_dir, "a-bridge.md", BRIDGE)
    _write(settings.corpus_dir, "bg-2024-01.md", BRIDGE_V2)
    engine = _engine(settings)
    report = engine.ingest([_jsonl(tmp_path / "tea.jsonl", TEA)])
    assert [f.path for f in report.failures] == [str(settings.corpus_dir / "a-bridge.md")]
    assert engine.article("bg-2024-01").text == BRIDGE_V2["body"]
    assert {a.id: a.text for a in read_corpus(settings.corpus_dir).articles}["bg-2024-01"] == BRIDGE_V2["body"]


def test_files_added_changed_or_deleted_in_the_folder_by_hand_are_taken_in(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE, TEA)])
    _no_full_rebuild(monkeypatch)
    folder = settings.corpus_dir
    dropped = folder / "logistics.md"
    dropped.write_text("---\nid: hn-2024-05\ntitle: Trung tâm logistics\n---\n\n" + LOGISTICS["body"] + "\n", "utf-8")
    bridge_file = article_path(folder, "bg-2024-01")
    bridge_file.write_text(bridge_file.read_text("utf-8").replace("1.200 tỷ", "1.500 tỷ"), "utf-8")
    article_path(folder, "tn-2024-03").unlink()

    # As the watched folder does: the new file named (taken in where it lies, not saved twice),
    # and the whole folder walked, so the hand edits of other files are taken in too.
    engine.ingest([dropped], whole_folder=True)

    assert not article_path(folder, "hn-2024-05").exists()
    assert sorted(engine.index.article_index) == sorted(a.id for a in read_corpus(folder).articles)
    assert "tn-2024-03" not in engine.index.article_index
    assert not any(article_id == "tn-2024-03" for article_id, _ in _ranked(engine, "vùng chè Thái Nguyên Bắc Kạn"))
    assert engine.article("bg-2024-01").text.endswith("1.500 tỷ đồng.")
    assert engine.ask("trung tâm logistics sông Đáy").citations[0].article_id == "hn-2024-05"
    assert engine.status().articles == 3
    manifest = IndexStore(settings.engine_config().index_root).read_manifest()
    assert manifest.removed == ["tn-2024-03"]
    # Deleted and then added again: live once more.
    engine.ingest([_jsonl(tmp_path / "b.jsonl", TEA)])
    assert IndexStore(settings.engine_config().index_root).read_manifest().removed == []
    assert engine.status().articles == 4


def test_a_lost_corpus_state_only_costs_a_full_read_of_the_folder(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(settings)
    engine.reindex()
    (settings.engine_config().index_root / "corpus-state.sqlite3").unlink()
    version = engine.status().version
    _no_full_rebuild(monkeypatch)
    engine.ingest([])
    assert engine.status().version == version  # nothing changed: no new version
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE)])
    assert len(IndexStore(settings.engine_config().index_root).read_manifest().delta) == 1


def _count_parsed_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the corpus files the engine parses from now on, in order."""
    read: list[str] = []
    real = engine_module.article_from_markdown

    def counting(text: str, origin: str):  # type: ignore[no-untyped-def]
        read.append(Path(origin).name)
        return real(text, origin)

    monkeypatch.setattr(engine_module, "article_from_markdown", counting)
    return read


def test_an_ingest_reads_only_the_corpus_files_that_changed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE, TEA, HIGHWAY)])
    long_ago = 1_600_000_000
    for path in settings.corpus_dir.glob("*.md"):
        os.utime(path, (long_ago, long_ago))  # settled files, as in a corpus folder in use
    engine.reindex()
    read = _count_parsed_files(monkeypatch)
    engine.ingest([_jsonl(tmp_path / "b.jsonl", LOGISTICS)])
    assert read == []  # the one new file was written from its import: not parsed again
    assert article_path(settings.corpus_dir, "hn-2024-05").exists()
    assert engine.status().articles == 5


def _many_articles(n: int) -> list[dict[str, str]]:
    return [
        {**TEA, "id": f"tin-{i:04d}", "title": f"Bản tin số {i}", "body": f"Bản tin số {i}. " + TEA["body"]}
        for i in range(n)
    ]


def test_an_ingest_of_one_file_reads_no_other_corpus_file(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: one new article into a large corpus folder opens only its own file; the
    folder walk is the watcher's and `reindex`'s, and the corpus state changes by rows."""
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "many.jsonl", *_many_articles(400))])
    engine.ingest([_jsonl(tmp_path / "one-more.jsonl", BRIDGE)])  # a delta, then a named ingest over it
    in_folder = sorted(p.name for p in settings.corpus_dir.glob("*.md"))
    assert len(in_folder) == 402  # with the repository's own article
    _no_full_rebuild(monkeypatch)
    new_file = article_path(settings.corpus_dir, LOGISTICS["id"]).name

    with files_opened(settings.corpus_dir) as opened:
        report = engine.ingest([_jsonl(tmp_path / "new.jsonl", LOGISTICS)])

    assert report.changes == {LOGISTICS["id"]: "new"} and report.ok
    assert new_file in opened  # written (through a hidden temporary file), then hashed for the state
    assert [name for name in opened if name != new_file and not name.startswith(f".{new_file}.")] == []
    manifest = IndexStore(settings.engine_config().index_root).read_manifest()
    assert len(manifest.delta) == 2 and manifest.articles == len(in_folder) + 1
    assert _ranked(engine, "trung tâm logistics trên sông Đáy công suất")[0][0] == LOGISTICS["id"]  # searchable

    # A changed article: only its own file is read (to compare) and written.
    changed = {**_many_articles(400)[7], "body": "Bản tin số 7 được sửa: vùng chè mở rộng lên 900 ha."}
    with files_opened(settings.corpus_dir) as opened:
        report = engine.ingest([_jsonl(tmp_path / "changed.jsonl", changed)])
    assert report.changes == {"tin-0007": "updated"}
    assert {name for name in opened if not name.startswith(".")} == {"tin-0007.md"}

    # The state is what a walk of the folder finds: a walk reads nothing more and changes nothing.
    read = _count_parsed_files(monkeypatch)
    version = engine.status().version
    assert engine.ingest([]).changes == {}
    assert read == [] and engine.status().version == version
    assert sorted(engine.index.article_index) == sorted(a.id for a in read_corpus(settings.corpus_dir).articles)


def test_a_corpus_state_of_the_previous_format_is_taken_in_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``corpus-state.npz`` (flat arrays, rewritten whole at every ingest) becomes the table:
    no file is read again for it, and the old file is removed."""
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE, TEA)])
    long_ago = 1_600_000_000
    for path in settings.corpus_dir.glob("*.md"):
        os.utime(path, (long_ago, long_ago))  # settled files
    engine.reindex()
    root = settings.engine_config().index_root
    state = CorpusStateStore(root).everything(engine.status().version)
    assert state is not None and len(state.files) == 3
    names = list(state.files)
    records = list(state.files.values())
    np.savez(
        root / "corpus-state.npz",
        version=np.frombuffer(state.version.encode(), dtype=np.uint8),
        scanned_ns=np.int64(max(r.seen_ns for r in records)),
        names=np.frombuffer("\x00".join(names).encode(), dtype=np.uint8),
        ids=np.frombuffer("\x00".join(r.article_id for r in records).encode(), dtype=np.uint8),
        stamps=np.array([r.stamp for r in records], dtype=np.int64),
        digests=np.array([np.frombuffer(r.digest, dtype=np.uint8) for r in records]),
    )
    for suffix in ("", "-wal", "-shm"):
        (root / f"corpus-state.sqlite3{suffix}").unlink(missing_ok=True)
    read = _count_parsed_files(monkeypatch)

    fresh = _engine(settings)
    assert fresh.ingest([]).changes == {}  # a walk, against the imported state
    assert read == []
    assert not (root / "corpus-state.npz").exists()
    assert CorpusStateStore(root).everything(fresh.status().version) == state


def test_files_written_just_before_the_last_scan_are_parsed_again_only_if_their_bytes_changed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file modified within the file system's timestamp granularity of the scan that
    recorded it ("racy") could change again without its stamp moving: it is read again at
    the next scan, and parsed only when its bytes differ from those recorded."""
    engine = _engine(settings)
    engine.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE, TEA, HIGHWAY)])  # just written: racy
    read = _count_parsed_files(monkeypatch)
    version = engine.status().version
    engine.ingest([])
    assert read == [] and engine.status().version == version
    # Same size, same modification time, other bytes: only the digest can tell.
    path = article_path(settings.corpus_dir, BRIDGE["id"])
    info = path.stat()
    text = path.read_text("utf-8")
    changed = text.replace("1,2 km", "1,5 km", 1)
    assert changed != text and len(changed.encode()) == len(text.encode())
    path.write_text(changed, "utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    engine.ingest([])
    assert read == [path.name]
    assert engine.status().version != version


def test_an_index_of_the_previous_format_is_reported_then_rebuilt_by_an_ingest(
    settings: Settings, tmp_path: Path
) -> None:
    engine = _engine(settings)
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    manifest_path = store.versions / str(store.current_version()) / "manifest.json"
    data = json.loads(manifest_path.read_text("utf-8"))
    old = {
        key: data[key]
        for key in (
            "format",
            "version",
            "model",
            "dimension",
            "corpus_fingerprint",
            "articles",
            "passages",
            "sentences",
            "built_at",
            "dense_kind",
            "embedded",
            "files",
        )
    }
    manifest_path.write_text(json.dumps({**old, "format": 2}), "utf-8")
    with pytest.raises(IndexMismatchError, match="hoptac reindex"):
        store.load()
    fresh = _engine(settings)
    fresh.ingest([_jsonl(tmp_path / "a.jsonl", BRIDGE)])
    manifest = store.read_manifest()
    assert manifest.format == index_module.FORMAT_VERSION and manifest.delta == []
    assert fresh.status().articles == 2


# -- the pieces -------------------------------------------------------------------------

DOCS = [
    "Dự án cầu Đồng Việt qua sông Thái Bình giữa huyện Yên Dũng và TP Chí Linh.",
    "Công nhận quần thể di tích Yên Tử là di sản thế giới.",
    "Hai tỉnh hợp tác phát triển du lịch và nông nghiệp, xây dựng cầu mới.",
    "",
    "Chủ tịch HĐND tỉnh Hải Dương phát biểu về phát triển KTXH, cầu Đồng Việt và cầu Đồng Việt.",
]


def test_bm25_is_exactly_bm25s_lucene_variant() -> None:
    analyzer = Analyzer()
    tokens = [analyzer.document_tokens(d) for d in DOCS]
    lexical = LexicalIndex.build(tokens)
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index([t or [""] for t in tokens], show_progress=False)
    for question in ("cầu Đồng Việt", "cau dong viet o dau", "di sản thế giới", "phát triển phát triển KTXH"):
        query = analyzer.query_tokens(question)
        known = [t for t in query if t in reference.vocab_dict]
        np.testing.assert_allclose(lexical.scores(query), reference.get_scores(known), rtol=1e-5, atol=1e-6)
    assert not lexical.scores(analyzer.query_tokens("xyz")).any()


def test_delta_parts_with_dead_documents_score_as_a_rebuild_of_the_live_ones() -> None:
    analyzer = Analyzer()
    tokens = [analyzer.document_tokens(d) for d in DOCS]
    changed = analyzer.document_tokens("Cầu Đồng Việt dài 1,2 km, bắc qua sông Thái Bình.")
    # Base: DOCS; delta 1: DOCS[1] again (supersedes the base's); delta 2: a new version of DOCS[0].
    live = np.array([False, False, True, True, True, True, True])
    combined = LexicalIndex([Postings.build(tokens), Postings.build(tokens[1:2]), Postings.build([changed])], live)
    rebuilt = LexicalIndex.build([*tokens[2:], tokens[1], changed])
    assert combined.documents == rebuilt.documents == 5
    assert combined.average_length == pytest.approx(rebuilt.average_length)
    order = [2, 3, 4, 5, 6]  # rows of the rebuilt index's documents in the combined one
    for question in ("cầu Đồng Việt sông Thái Bình", "di sản thế giới Yên Tử", "phát triển KTXH", "cau dong viet"):
        query = analyzer.query_tokens(question)
        scores = combined.scores(query)
        assert not scores[~live].any()
        np.testing.assert_allclose(scores[order], rebuilt.scores(query), rtol=1e-6)
        for token in query:
            assert combined.idf(token) == pytest.approx(rebuilt.idf(token))


@pytest.mark.parametrize("kind", [DenseIndexKind.FLAT, DenseIndexKind.HNSW])
def test_live_dense_returns_the_exact_top_k_among_live_passages(kind: DenseIndexKind) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    base, delta = vectors[:250], vectors[250:]
    live = rng.random(300) > 0.3
    dense = LiveDense(DenseIndex.build(base, kind), [delta[:20], delta[20:]], live)
    assert dense.size == 300
    for query in vectors[:5]:
        ids, scores = dense.search(query, 10)
        exact = np.argsort(-(vectors @ query))
        expected = [int(i) for i in exact if live[i]][:10]
        assert all(live[ids])
        assert list(ids) == expected
        # The exact scan reads float16 codes (retrieval/local/dense.py): cosines to within 2e-4.
        atol = 2e-4 if kind == DenseIndexKind.FLAT else 1e-6
        np.testing.assert_allclose(scores, (vectors @ query)[expected], rtol=1e-5, atol=atol)


@pytest.mark.parametrize("kind", [DenseIndexKind.FLAT, DenseIndexKind.HNSW])
def test_a_period_restricted_search_returns_only_allowed_live_passages(kind: DenseIndexKind) -> None:
    """A question's period (``allowed``) goes through the ANN index with a selector, or is
    scored exactly when it selects few passages; either way only allowed, live passages."""
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((2_000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    live = rng.random(2_000) > 0.1
    dense = LiveDense(DenseIndex.build(vectors[:1_900], kind), [vectors[1_900:]], live)
    few = np.zeros(2_000, dtype=bool)
    few[rng.choice(2_000, 40, replace=False)] = True
    many = rng.random(2_000) > 0.5
    for allowed in (few, many):
        for query in vectors[:5]:
            ids, _ = dense.search(query, 10, allowed)
            expected = [int(i) for i in np.argsort(-(vectors @ query)) if live[i] and allowed[i]][:10]
            assert all(live[ids]) and all(allowed[ids])
            if allowed is few or kind == DenseIndexKind.FLAT:
                assert list(ids) == expected  # exact
            else:
                assert len(set(ids.tolist()) & set(expected)) >= 9  # approximate, re-scored
