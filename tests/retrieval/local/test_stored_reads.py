"""Reading a loaded index's files by position: articles and vector rows come back exactly as
stored, damage is named, and scattered reads leave nothing of the files resident."""

from __future__ import annotations

import contextlib
import gc
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from measure.bench.footprint import smaps_rss
from retrieval.articles.records import article_digest
from retrieval.embedding.compact import CompactVectors, VectorBlocks
from retrieval.engine import IndexCorruptError
from retrieval.local.article_file import (
    DICTIONARY_FILE,
    OFFSETS_FILE,
    RECORDS_FILE,
    ArticleDamagedError,
    ArticleFile,
    article_record,
    write_articles,
)
from retrieval.local.positional_file import PositionalFile
from retrieval.local.row_file import RowFile, load_vectors
from retrieval.models import Article


def _articles(n: int = 40) -> list[Article]:
    rng = np.random.default_rng(11)
    words = ["Hà Nội", "cầu", "vốn đầu tư", "tỷ đồng", "Quốc hội", '"trích dẫn"', "năm 2024", "\\", "đường"]
    return [
        Article(
            id=f"a-{i:03d}",
            title=f"Bài {i}: {words[i % len(words)]}",
            published=datetime(2024, 1, 1 + i % 28, 8, i % 60, tzinfo=UTC) if i % 3 else None,
            source="VnExpress" if i % 2 else "",
            text="\n\n".join(" ".join(rng.choice(words, 30)) + "." for _ in range(1 + i % 4)),
            url=f"https://example.vn/{i}" if i % 4 else None,
            tags=("thời sự", "kinh tế")[: i % 3],
            sapo=f"Tóm tắt {i}" if i % 5 else None,
        )
        for i in range(n)
    ]


def _written(folder: Path, articles: list[Article]) -> ArticleFile:
    write_articles(folder, articles, [article_digest(a) for a in articles])
    return ArticleFile.load(folder)


def _open_fds_of(path: Path) -> int:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return links.count(str(path))


def test_articles_read_back_exactly_from_their_compressed_records(tmp_path: Path) -> None:
    articles = _articles()
    stored = _written(tmp_path, articles)
    assert list(stored) == articles
    assert [stored[i] for i in (39, 0, 7, 7, -1)] == [articles[i] for i in (39, 0, 7, 7, -1)]
    assert stored[3:9] == articles[3:9]
    assert stored.ids == [a.id for a in articles] and stored.published == [a.published for a in articles]
    assert [stored.digest(i) for i in range(len(articles))] == [article_digest(a) for a in articles]
    assert (tmp_path / RECORDS_FILE).stat().st_size < sum(len(article_record(a)) for a in articles) / 2
    with pytest.raises(IndexError):
        stored[40]


def test_a_segment_without_articles_is_stored_and_loaded(tmp_path: Path) -> None:
    stored = _written(tmp_path, [])
    assert len(stored) == 0 and list(stored) == [] and (tmp_path / DICTIONARY_FILE).read_bytes() == b""


def test_any_flipped_byte_of_an_article_record_is_found_when_it_is_read(tmp_path: Path) -> None:
    articles = _articles(3)
    _written(tmp_path, articles).close()
    records = tmp_path / RECORDS_FILE
    intact = records.read_bytes()
    end_of_first = int(np.load(tmp_path / OFFSETS_FILE)[1])
    for position in range(end_of_first):
        damaged = bytearray(intact)
        damaged[position] ^= 0x20
        records.write_bytes(bytes(damaged))
        stored = ArticleFile.load(tmp_path)
        with pytest.raises(ArticleDamagedError, match="run `hoptac reindex`"):
            stored[0]
        assert stored[1] == articles[1]  # only the damaged article is refused
        stored.close()


def test_a_record_that_inflates_to_other_words_fails_its_checksum(tmp_path: Path) -> None:
    articles = _articles(2)
    stored = _written(tmp_path, articles)
    stored.close()
    changed = article_record(articles[0]).replace(b".", b"!", 1)  # in the text: a whole, valid record
    dictionary = (tmp_path / DICTIONARY_FILE).read_bytes()
    deflater = zlib.compressobj(6, zlib.DEFLATED, 15, zdict=dictionary)
    forged = deflater.compress(changed) + deflater.flush()
    offsets = np.load(tmp_path / OFFSETS_FILE)
    rest = (tmp_path / RECORDS_FILE).read_bytes()[int(offsets[1]) :]
    (tmp_path / RECORDS_FILE).write_bytes(forged + rest)
    np.save(tmp_path / OFFSETS_FILE, np.where(np.arange(len(offsets)) > 0, offsets - offsets[1] + len(forged), 0))
    stored = ArticleFile.load(tmp_path)
    with pytest.raises(ArticleDamagedError, match="'a-000' does not match its checksum: run `hoptac reindex`"):
        stored[0]
    assert stored[1] == articles[1]


def test_article_files_that_disagree_are_refused_at_load(tmp_path: Path) -> None:
    _written(tmp_path, _articles(3)).close()
    records = tmp_path / RECORDS_FILE
    records.write_bytes(records.read_bytes()[:-1])
    with pytest.raises(ValueError, match="disagree"):
        ArticleFile.load(tmp_path)
    assert _open_fds_of(records) == 0


def test_the_records_file_stays_open_until_closed_or_collected(tmp_path: Path) -> None:
    articles = _articles(3)
    stored = _written(tmp_path, articles)
    records = tmp_path / RECORDS_FILE
    assert _open_fds_of(records) == 1
    assert stored[0] == articles[0]
    stored.close()
    stored.close()
    assert _open_fds_of(records) == 0
    assert stored[0] == articles[0]  # cached
    with pytest.raises(OSError):
        stored[1]
    gc.disable()  # no cycle holds it: closed as soon as the last reference goes
    try:
        stored = ArticleFile.load(tmp_path)
        assert stored[1] == articles[1]
        del stored
        assert _open_fds_of(records) == 0
    finally:
        gc.enable()


def test_a_file_shorter_than_a_read_is_named_as_truncated(tmp_path: Path) -> None:
    path = tmp_path / "rows.bin"
    path.write_bytes(b"0123456789")
    file = PositionalFile(path)
    assert file.read(2, 5) == b"23456"
    with pytest.raises(IndexCorruptError, match=r"rows\.bin is truncated: run `hoptac reindex`"):
        file.read(8, 5)
    file.close()


# -- vector rows ------------------------------------------------------------------------------

SELECTIONS = {
    "random": np.random.default_rng(1).integers(0, 3000, 400),
    "repeated": np.array([5, 5, 2999, 5, 0, 0]),
    "unsorted runs": np.r_[np.arange(100, 140)[::-1], np.arange(10, 20), np.arange(2000, 2003)],
    "from the end": np.array([-1, -3000, 7]),
    "empty": np.zeros(0, dtype=np.int64),
    "every row": np.arange(3000),
    "every third row": np.arange(0, 3000, 3),
}


def _file_of(mapped: np.ndarray | None) -> Path:
    assert isinstance(mapped, np.memmap) and mapped.filename is not None
    return Path(mapped.filename)


@pytest.fixture
def stored_blocks(tmp_path: Path) -> tuple[CompactVectors, CompactVectors, CompactVectors, CompactVectors]:
    vectors = np.random.default_rng(2).standard_normal((3000, 48)).astype(np.float32)
    CompactVectors.of_passages(vectors).save(tmp_path, "passage_vectors")
    CompactVectors.of_sentences(vectors).save(tmp_path, "sentence_vectors")
    return (
        load_vectors(tmp_path, "passage_vectors", mmap=False),
        load_vectors(tmp_path, "passage_vectors", mmap=True),
        load_vectors(tmp_path, "sentence_vectors", mmap=False),
        load_vectors(tmp_path, "sentence_vectors", mmap=True),
    )


@pytest.mark.parametrize("name", list(SELECTIONS))
@pytest.mark.parametrize("window", [1 << 20, 1000, 50])  # 1000 bytes: a batch every few rows; 50: every row
def test_rows_read_by_position_are_the_rows_in_memory_bit_for_bit(
    stored_blocks: tuple[CompactVectors, ...], name: str, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.local.row_file.MAX_READ_BYTES", window)
    rows = SELECTIONS[name]
    passages, mapped_passages, sentences, mapped_sentences = stored_blocks
    assert mapped_passages.files is not None and passages.files is None
    for in_memory, on_disk in ((passages, mapped_passages), (sentences, mapped_sentences)):
        expected = in_memory.decode(rows)
        got = on_disk.decode(rows)
        assert got.dtype == np.float32 and got.shape == (len(rows), 48)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(VectorBlocks([on_disk])[rows], expected)
        np.testing.assert_array_equal(VectorBlocks([on_disk])[list(rows)], expected)


def test_single_rows_and_blocks_read_by_position(stored_blocks: tuple[CompactVectors, ...]) -> None:
    passages, mapped_passages, sentences, mapped_sentences = stored_blocks
    mixed = VectorBlocks([mapped_passages, mapped_sentences])
    whole = np.vstack([passages.decode(slice(None)), sentences.decode(slice(None))])
    np.testing.assert_array_equal(np.asarray(mixed), whole)
    for row in (0, 2999, 3000, 5999, -1):
        np.testing.assert_array_equal(mixed[row], whole[row])
    rows = np.array([5999, 3, 3000, 2999, 3])
    np.testing.assert_array_equal(mixed[rows], whole[rows])
    for bad in (6000, -6001):
        with pytest.raises(IndexError):
            mixed[bad]
    with pytest.raises(IndexError):
        mapped_passages.decode(np.array([3000]))


def test_scattered_rows_leave_none_of_the_file_resident(stored_blocks: tuple[CompactVectors, ...]) -> None:
    _, mapped_passages, _, mapped_sentences = stored_blocks
    assert mapped_passages.files is not None and mapped_sentences.files is not None
    paths = [_file_of(m) for m in (mapped_passages.codes, mapped_sentences.codes, mapped_sentences.scales)]
    for block in (mapped_passages, mapped_sentences):
        block.decode(np.arange(0, 3000, 7))
        VectorBlocks([block])[42]
    assert sum(smaps_rss().get(str(path), 0) for path in paths) == 0  # mapped, never touched
    float(np.asarray(mapped_passages.codes, dtype=np.float32).sum())
    assert smaps_rss().get(str(paths[0]), 0) > 0  # what touching the map does


def test_row_files_are_closed_on_request_or_collection(stored_blocks: tuple[CompactVectors, ...]) -> None:
    _, _, _, mapped_sentences = stored_blocks
    codes = _file_of(mapped_sentences.codes)
    open_before = _open_fds_of(codes)  # the memory map's own descriptor and the row file's
    mapped_sentences.close()
    assert _open_fds_of(codes) == open_before - 1
    with pytest.raises(OSError):
        mapped_sentences.decode(np.array([1]))
    np.asarray(mapped_sentences.decode(slice(0, 2)))  # every row: through the map, still there
    mapped = np.load(codes, mmap_mode="r")
    open_with_map = _open_fds_of(codes)
    rows = RowFile(mapped)
    assert len(rows) == 3000 and rows.row_bytes == 48
    assert _open_fds_of(codes) == open_with_map + 1
    del rows
    gc.collect()
    assert _open_fds_of(codes) == open_with_map
