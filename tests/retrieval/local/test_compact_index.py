"""The compact index format: what is stored reads back exactly, and damage is found and named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from hoptac.settings import Settings
from measure.bench.footprint import component_of
from retrieval.articles.records import article_to_json
from retrieval.embedding.compact import CompactVectors, VectorBlocks, quantize_int8
from retrieval.engine import IndexCorruptError, IndexMismatchError
from retrieval.local.article_file import ArticleDamagedError, ArticleFile
from retrieval.local.dense import DenseIndex, DenseIndexKind
from retrieval.local.engine import LocalEngine
from retrieval.local.index import FORMAT_VERSION, IndexStore, LoadedIndex
from tests.conftest import CORPUS, HashingEmbedder

QUESTION = "cầu Đồng Việt ở đâu?"


def _built(settings: Settings) -> tuple[LocalEngine, LoadedIndex, Path]:
    engine = LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    return engine, engine.index, store.versions / str(store.current_version())


def _engine(settings: Settings) -> LocalEngine:
    return LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]


def test_int8_codes_decode_to_within_half_a_step_of_each_component() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[7] = 0.0  # an empty text's vector
    codes, scales = quantize_int8(vectors)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    decoded = CompactVectors(codes, scales).decode(slice(None))
    step = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert (np.abs(decoded - vectors) <= step / 2 + 1e-7).all()
    assert not decoded[7].any()


def test_rows_of_several_blocks_read_as_one() -> None:
    rng = np.random.default_rng(4)
    first, second = rng.standard_normal((5, 8)), rng.standard_normal((3, 8))
    blocks = VectorBlocks([CompactVectors.of_passages(first), CompactVectors.of_sentences(second)])
    whole = np.vstack([CompactVectors.of_passages(first).decode(slice(None)), blocks[[5, 6, 7]]])
    assert blocks.shape == (8, 8) and len(blocks) == 8
    np.testing.assert_array_equal(blocks[[0, 6, 2]], whole[[0, 6, 2]])
    np.testing.assert_array_equal(blocks[-1], whole[7])
    assert blocks[[1]].dtype == np.float32


def test_what_is_stored_reads_back_exactly(settings: Settings) -> None:
    _, built, folder = _built(settings)
    loaded = IndexStore(settings.engine_config().index_root).load()
    assert np.load(folder / "passage_vectors.npy", mmap_mode="r").dtype == np.float16
    assert np.load(folder / "sentence_vectors.npy", mmap_mode="r").dtype == np.int8
    assert np.load(folder / "sentence_vectors_scales.npy").dtype == np.float32
    every_passage, every_sentence = np.arange(len(built.passage_rows)), np.arange(len(built.sentence_rows))
    np.testing.assert_array_equal(loaded.passage_vectors[every_passage], built.passage_vectors[every_passage])
    np.testing.assert_array_equal(loaded.sentence_vectors[every_sentence], built.sentence_vectors[every_sentence])
    np.testing.assert_array_equal(loaded.sentence_rows, built.sentence_rows)
    np.testing.assert_array_equal(loaded.passage_rows, built.passage_rows)
    assert isinstance(loaded.base.articles, ArticleFile)
    assert list(loaded.articles) == list(built.articles)
    assert loaded.article_ids == built.article_ids and loaded.article_published == built.article_published
    assert loaded.corpus_fingerprint() == built.corpus_fingerprint() == loaded.manifest.corpus_fingerprint
    for row in every_sentence:
        sentence = loaded.sentence(int(row))
        assert loaded.article_of_sentence(int(row)).text[sentence.start : sentence.end] == sentence.text
    query = HashingEmbedder().encode_query(QUESTION)
    for got, expected in zip(loaded.dense.search(query, 5), built.dense.search(query, 5), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_loading_reads_no_article_text_until_a_sentence_is_read(settings: Settings) -> None:
    _built(settings)
    index = IndexStore(settings.engine_config().index_root).load()
    articles = index.base.articles
    assert isinstance(articles, ArticleFile)
    assert articles._read.cache_info().currsize == 0
    sentence = index.sentence(3)
    assert articles._read.cache_info().currsize == 1
    assert articles[0].text[sentence.start : sentence.end] == sentence.text


def test_hnsw_candidates_are_scored_again_with_the_stored_vectors() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((600, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = VectorBlocks([CompactVectors.of_passages(vectors)])
    dense = DenseIndex.build(vectors, DenseIndexKind.HNSW, rerank=stored)
    for query in vectors[:10]:
        ids, scores = dense.search(query, 10)
        exact = stored[np.arange(600)] @ query
        assert list(ids) == list(np.argsort(-exact, kind="stable")[:10])
        np.testing.assert_allclose(scores, stored[ids] @ query, rtol=1e-6)


@pytest.mark.parametrize("name", ["sentence_vectors.npy", "article_records.bin"])
def test_a_truncated_vector_or_article_file_is_reported_at_load_with_the_fix(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr("retrieval.local.index.CHECKED_AT_LOAD_BYTES", 0)  # every file counts as large
    _, _, folder = _built(settings)
    stored = folder / name
    stored.write_bytes(stored.read_bytes()[:-100])
    with pytest.raises(IndexCorruptError, match=rf"{re.escape(name)} is truncated.*run `hoptac reindex`"):
        IndexStore(settings.engine_config().index_root).load()


def test_a_damaged_large_file_is_found_in_the_background_and_answering_stops(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.local.index.CHECKED_AT_LOAD_BYTES", 0)
    _, _, folder = _built(settings)
    vectors = folder / "passage_vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    vectors.write_bytes(bytes(data))
    engine = _engine(settings)
    integrity = engine.index.integrity
    assert integrity is not None and integrity.wait(timeout=30)
    assert integrity.error == "index file passage_vectors.npy is corrupt (checksum mismatch): run `hoptac reindex`"
    with pytest.raises(IndexCorruptError, match="run `hoptac reindex`"):
        engine.ask(QUESTION)
    assert engine.status().integrity == integrity.error


def test_an_intact_index_passes_the_background_check(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("retrieval.local.index.CHECKED_AT_LOAD_BYTES", 0)
    _built(settings)
    engine = _engine(settings)
    integrity = engine.index.integrity
    assert integrity is not None and integrity.wait(timeout=30) and integrity.error is None
    assert engine.status().integrity == "verified"
    engine.ask(QUESTION)  # answers (what it finds with this test embedder does not matter here)


def test_a_damaged_article_is_never_quoted(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("retrieval.local.index.CHECKED_AT_LOAD_BYTES", 0)
    _, _, folder = _built(settings)
    records = folder / "article_records.bin"
    data = bytearray(records.read_bytes())
    data[10] ^= 0x01  # in the first article's record; same size, so only reading it can tell
    records.write_bytes(bytes(data))
    loaded = IndexStore(settings.engine_config().index_root).load()
    with pytest.raises(ArticleDamagedError, match="run `hoptac reindex`"):
        loaded.articles[0]
    with pytest.raises(IndexCorruptError):
        loaded.article_of_passage(0)


def test_the_article_text_is_stored_compressed(settings: Settings) -> None:
    _, built, folder = _built(settings)
    json_lines = sum(len(article_to_json(article).encode()) + 1 for article in built.articles)
    assert not (folder / "articles.jsonl").exists()
    assert (folder / "article_records.bin").stat().st_size < json_lines / 2
    assert component_of("article_records.bin") == component_of("article_dictionary.bin") == "article_text"


def test_an_index_of_the_previous_format_asks_for_a_reindex(settings: Settings) -> None:
    _, _, folder = _built(settings)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["format"] = FORMAT_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    old = rf"index format {FORMAT_VERSION - 1} is not {FORMAT_VERSION}.*run `hoptac reindex`"
    with pytest.raises(IndexMismatchError, match=old):
        IndexStore(settings.engine_config().index_root).load()


def test_span_vectors_are_quantised_block_by_block_exactly_as_one_matrix() -> None:
    """The build quantises span-pooled sentence vectors a block of passages at a time (no
    float32 matrix of every sentence); the codes are those of quantising the whole matrix at
    once, each sentence taking the vector of the first passage that pooled it, in its own
    block or an earlier one."""
    from retrieval import preparation

    rng = np.random.default_rng(5)
    sentences, dimension = 40, 8
    rows_per_passage = [range(i * 3, min(i * 3 + 5, sentences)) for i in range(14)]  # overlapping
    pooled: list[list[np.ndarray | None]] = [
        [None if rng.random() < 0.2 else rng.standard_normal(dimension).astype(np.float32) for _ in rows]
        for rows in rows_per_passage
    ]
    expected = np.zeros((sentences, dimension), dtype=np.float32)
    taken = np.zeros(sentences, dtype=bool)
    for rows, vectors in zip(rows_per_passage, pooled, strict=True):
        for r, vector in zip(rows, vectors, strict=True):
            if vector is not None and not taken[r]:
                expected[r], taken[r] = vector, True
    codes, scales = quantize_int8(expected[taken])
    stored = preparation._SentenceCodes(sentences, dimension)
    for start in range(0, len(pooled), 3):
        block = pooled[start : start + 3]
        stored.take_pooled(rows_per_passage[start : start + 3], block)
        assert all(vectors == [] for vectors in block)  # each passage's vectors let go once taken
    assert np.array_equal(stored.has_vector, taken)
    compact = stored.compact()
    assert np.array_equal(compact.codes[taken], codes)
    assert compact.scales is not None and np.array_equal(compact.scales[taken], scales)


@pytest.mark.parametrize("model", ["hashing, each sentence alone", "real model, span pooling"])
def test_articles_embedded_block_by_block_store_what_one_block_stores(
    model: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The build embeds a few passages at a time (bounded memory at a million passages):
    the stored passage and sentence vectors are those of embedding every passage at once,
    and the progress it reports only goes up, to every text."""
    from retrieval import preparation
    from retrieval.articles.corpus import read_corpus

    embedder = HashingEmbedder() if model.startswith("hashing") else request.getfixturevalue("real_engine").embedder()
    articles = sorted(read_corpus(CORPUS).articles, key=lambda a: a.id)
    whole = preparation.embed_articles(articles, embedder)
    monkeypatch.setattr(preparation, "EMBED_BLOCK_PASSAGES", 2)
    reported: list[tuple[str, int, int]] = []
    blocks = preparation.embed_articles(articles, embedder, lambda *step: reported.append(step))
    assert len(whole.passages) > 4
    assert np.array_equal(blocks.passage_vectors.codes, whole.passage_vectors.codes)
    assert np.array_equal(blocks.sentence_vectors.codes, whole.sentence_vectors.codes)
    assert blocks.sentence_vectors.scales is not None and whole.sentence_vectors.scales is not None
    assert np.array_equal(blocks.sentence_vectors.scales, whole.sentence_vectors.scales)
    assert {stage for stage, _, _ in reported} == {"embed"}
    assert reported[-1][1] == reported[-1][2] >= len(whole.passages)
    assert [done for _, done, _ in reported] == sorted(done for _, done, _ in reported)


def test_passages_handed_over_block_by_block_are_those_of_segmenting_every_article(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local build tokenises each block's passages as it is embedded (no text outlives its
    block): the passages handed over are exactly those of segmenting every article at once,
    in order, none kept, and the sentence rows slice the same texts."""
    from retrieval import preparation
    from retrieval.articles.corpus import read_corpus

    articles = sorted(read_corpus(CORPUS).articles, key=lambda a: a.id)
    per_article, expected = preparation.segment_articles(articles)
    whole = preparation.embed_articles(articles, HashingEmbedder())  # type: ignore[arg-type]
    monkeypatch.setattr(preparation, "EMBED_BLOCK_PASSAGES", 3)
    handed: list[list[object]] = []
    blocks = preparation.embed_articles(articles, HashingEmbedder(), take_passages=handed.append)  # type: ignore[arg-type]
    assert whole.passages == expected and blocks.passages == []
    assert [p for block in handed for p in block] == expected
    assert [len(block) for block in handed[:-1]] == [3] * (len(handed) - 1)
    sentences = [s for article_sentences in per_article for s in article_sentences]
    texts = [articles[a].text[start:end] for a, start, end in blocks.sentence_rows[:, :3].tolist()]
    assert texts == [s.text for s in sentences]
    assert np.array_equal(blocks.sentence_rows, whole.sentence_rows)
    assert np.array_equal(blocks.passage_rows, whole.passage_rows)
    assert np.array_equal(blocks.passage_vectors.codes, whole.passage_vectors.codes)
    assert np.array_equal(blocks.sentence_vectors.codes, whole.sentence_vectors.codes)


def test_int8_quantisation_in_blocks_of_rows_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.embedding import compact as vectors_module

    rng = np.random.default_rng(9)
    matrix = rng.standard_normal((1_000, 12)).astype(np.float32)
    matrix[17] = 0.0  # a zero row keeps scale 1
    whole_codes, whole_scales = quantize_int8(matrix)
    monkeypatch.setattr(vectors_module, "QUANTISE_ROWS", 64)
    codes, scales = quantize_int8(matrix)
    assert np.array_equal(codes, whole_codes) and np.array_equal(scales, whole_scales)
    assert scales[17] == 1.0 and not codes[17].any()
    peaks = np.abs(matrix).max(axis=1)
    expected = np.clip(np.rint(matrix / np.where(peaks > 0, peaks / 127, 1.0)[:, None]), -127, 127)
    assert np.array_equal(codes, expected.astype(np.int8))


def test_hnsw_built_a_block_of_stored_rows_at_a_time_has_the_codes_of_one_built_from_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The build adds the passages' float16 rows to HNSW a block at a time (no float32 copy
    of every row): the 8-bit quantiser is trained on each dimension's minimum and maximum of
    every row, so each passage gets the code it gets from one pass over all of them, and
    the search finds what an exact search finds."""
    import faiss

    from retrieval.local import dense as dense_module

    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((3_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = CompactVectors.of_passages(vectors)
    whole = DenseIndex.build(stored.decode(slice(None)), DenseIndexKind.HNSW)
    monkeypatch.setattr(dense_module, "BUILD_ROWS", 700)
    blocks = DenseIndex.build_from(stored, DenseIndexKind.HNSW)

    def codes(index: DenseIndex) -> tuple[np.ndarray, np.ndarray]:
        hnsw = faiss.downcast_index(index._index)
        storage = faiss.downcast_index(hnsw.storage)
        return faiss.vector_to_array(storage.sq.trained), faiss.vector_to_array(storage.codes)

    assert blocks.size == whole.size == 3_000
    for mine, theirs in zip(codes(blocks), codes(whole), strict=True):
        assert np.array_equal(mine, theirs)
    exact = DenseIndex.build_from(stored, DenseIndexKind.FLAT)
    found = [blocks.search(q, 1)[0][0] == exact.search(q, 1)[0][0] for q in stored.decode(slice(0, 200))]
    assert sum(found) >= 195
