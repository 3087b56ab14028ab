"""The postings' on-disk format: varint document gaps and one-byte counts, read a token at a
time from files, scoring exactly as a straightforward BM25 over the same documents."""

from __future__ import annotations

import contextlib
import gc
import math
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.bm25 import K1, B
from retrieval.engine import IndexCorruptError
from retrieval.local import postings as postings_module
from retrieval.local.blocks import Blocks, compiled
from retrieval.local.postings import LexicalIndex, Postings, Vocabulary, decode_varints, encode_varints

WORDS = [f"w{i}" for i in range(60)]


def _corpus(seed: int, documents: int = 80) -> list[list[str]]:
    """Random documents over a small vocabulary (a few words common, most rare), some empty,
    one with a word 300 times (a count over 255)."""
    rng = random.Random(seed)
    docs = [[WORDS[min(int(rng.expovariate(0.08)), 59)] for _ in range(rng.randint(1, 40))] for _ in range(documents)]
    docs[3] = []
    docs[17] = []
    docs[40] = ["w1"] * 300 + ["w2"]
    return docs


def _reference(docs: list[list[str]], query: list[str], live: list[bool] | None = None) -> np.ndarray:
    """BM25 ("lucene", as bm25s) of the live documents, one document and token at a time."""
    live = live or [True] * len(docs)
    counts = [Counter(d or [""]) for d in docs]
    lengths = [len(d) or 1 for d in docs]
    n = sum(live)
    average = sum(length for length, alive in zip(lengths, live, strict=True) if alive) / n
    scores = np.zeros(len(docs), dtype=np.float64)
    for token in query:
        df = sum(1 for c, alive in zip(counts, live, strict=True) if alive and token in c)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, c in enumerate(counts):
            if live[i] and token in c:
                tf = float(c[token])
                scores[i] += idf * tf / (tf + K1 * (1 - B + B * float(lengths[i]) / average))
    return scores.astype(np.float32)


QUERIES = [["w0", "w1", "w2"], ["w5", "w5", "w59"], ["absent", "w3"], ["absent"], [""], ["w1", "w40", "w7", "w0"]]


def test_varints_round_trip_every_size_up_to_32_bits() -> None:
    edges = [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**31 - 1, 2**32 - 1]
    values = np.array(edges + list(np.random.default_rng(1).integers(0, 2**32, 1000)), dtype=np.uint32)
    encoded = encode_varints(values)
    assert encoded.dtype == np.uint8
    assert len(encode_varints(np.array([127, 128, 2**28], dtype=np.uint32))) == 1 + 2 + 5
    assert np.array_equal(decode_varints(encoded), values)
    assert len(decode_varints(encode_varints(np.zeros(0, dtype=np.uint32)))) == 0


def test_built_postings_score_exactly_as_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings_module, "_BUILD_BATCH", 7)  # many batches to place by token
    monkeypatch.setattr(postings_module, "_ENCODE_POSTINGS", 5)  # many slices to encode
    docs = _corpus(1)
    index = LexicalIndex.build(docs)
    postings = index.parts[0]
    assert postings.tf.dtype == np.uint16  # one count is 300
    for query in QUERIES:
        expected = _reference(docs, query)
        assert np.array_equal(index.scores(query), expected), query
        one_part = postings.bm25(query, index.document_frequency, index.documents, index.average_length)
        assert np.array_equal(one_part, expected), query
    for token in ("w0", "w1", "w33", ""):
        having = [i for i, d in enumerate(docs) if token in (d or [""])]
        assert postings.documents_with(token).tolist() == having  # type: ignore[union-attr]
        assert postings.count(token) == index.document_frequency(token) == len(having)
    assert postings.documents_with("absent") is None and postings.count("absent") == 0


@pytest.mark.parametrize(("batch", "encode"), [(7, 5), (1, 1), (32768, 1 << 20)])
def test_the_build_writes_the_bytes_of_the_token_lists_encoded_at_once(
    batch: int, encode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placed a slice of tokens at a time, from batches of documents (bounded memory), the
    build's arrays are byte for byte those of encoding every token's whole list at once."""
    monkeypatch.setattr(postings_module, "_BUILD_BATCH", batch)
    monkeypatch.setattr(postings_module, "_ENCODE_POSTINGS", encode)
    docs = _corpus(4, documents=300)
    built = Postings.build(docs)
    columns = {token: built.vocabulary.get(token) for d in docs for token in (d or [""])}
    lists: list[list[int]] = [[] for _ in columns]
    tfs: list[list[int]] = [[] for _ in columns]
    for i, d in enumerate(docs):
        for token, count in sorted(Counter(d or [""]).items()):
            lists[columns[token]].append(i)  # type: ignore[index]
            tfs[columns[token]].append(count)  # type: ignore[index]
    indptr = np.cumsum([0] + [len(found) for found in lists])
    expected = Postings.from_lists(
        built.vocabulary,
        indptr,
        np.array([i for found in lists for i in found], dtype=np.int32),
        np.array([c for counts in tfs for c in counts]),
        np.array([len(d) or 1 for d in docs]),
    )
    assert np.array_equal(built.indptr, expected.indptr) and built.indptr.dtype == expected.indptr.dtype
    assert np.array_equal(built.doc_offsets, expected.doc_offsets)
    assert np.array_equal(
        built.doc_gaps.read(0, len(built.doc_gaps)), expected.doc_gaps.read(0, len(expected.doc_gaps))
    )
    assert np.array_equal(built.tf.read(0, len(built.tf)), expected.tf.read(0, len(expected.tf)))
    assert built.tf.dtype == expected.tf.dtype == np.uint16  # one count is 300


def test_counts_take_one_byte_unless_one_exceeds_255(tmp_path: Path) -> None:
    docs = [d for i, d in enumerate(_corpus(2)) if i != 40]
    postings = Postings.build(docs)
    assert postings.tf.dtype == np.uint8
    postings.save(tmp_path)
    loaded = Postings.load(tmp_path)
    assert loaded.tf.dtype == np.uint8
    assert np.array_equal(LexicalIndex([loaded]).scores(["w0", "w4"]), _reference(docs, ["w0", "w4"]))


def test_saved_and_loaded_postings_are_the_same(tmp_path: Path) -> None:
    docs = _corpus(3)
    built = Postings.build(docs)
    built.save(tmp_path / "a")
    loaded = Postings.load(tmp_path / "a")
    loaded.save(tmp_path / "b")  # a loaded index copies its streams
    again = Postings.load(tmp_path / "b")
    for name in Postings.FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for query in QUERIES:
        expected = _reference(docs, query)
        for postings in (built, loaded, again):
            assert np.array_equal(LexicalIndex([postings]).scores(query), expected)
    for token in ("w0", "w1", "w20", "", "absent"):
        a, b = built.documents_with(token), again.documents_with(token)
        assert (a is None and b is None) or np.array_equal(a, b)  # type: ignore[arg-type]
    # the long lists' blocks beside them when the extension is compiled (retrieval/local/blocks.py)
    blocks = Blocks.FILES if compiled() is not None else ()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted((*Postings.FILES, *blocks))
    for name in blocks:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_gaps_of_2_to_the_28_and_more_decode_exactly() -> None:
    documents = 2**31 - 1
    docs = np.array([0, 2**28, 2**28 + 1, 2**30 + 7, documents - 1, 5, 2**29 + 3], dtype=np.int32)
    indptr = np.array([0, 5, 5, 7])  # token "b" has no documents
    lengths = np.broadcast_to(np.int32(3), (documents,))  # no memory for two billion lengths
    postings = Postings.from_lists(Vocabulary({"a": 0, "b": 1, "c": 2}), indptr, docs, np.ones(7), lengths)
    assert postings.documents_with("a").tolist() == docs[:5].tolist()  # type: ignore[union-attr]
    assert postings.documents_with("b").tolist() == []  # type: ignore[union-attr]
    assert postings.documents_with("c").tolist() == [5, 2**29 + 3]  # type: ignore[union-attr]
    assert len(postings.doc_gaps) == 1 + 5 + 1 + 5 + 5 + 1 + 5


def test_parts_with_dead_documents_score_as_the_reference_of_the_live_ones(tmp_path: Path) -> None:
    docs = _corpus(4, documents=60)
    parts = [docs[:30], docs[30:45], docs[45:]]
    for i, part in enumerate(parts):
        Postings.build(part).save(tmp_path / str(i))
    live = [i % 5 != 2 for i in range(len(docs))]
    index = LexicalIndex([Postings.load(tmp_path / str(i)) for i in range(3)], np.array(live))
    for query in QUERIES:
        assert np.array_equal(index.scores(query), _reference(docs, query, live)), query
    assert index.document_frequency("w0") == sum(1 for d, a in zip(docs, live, strict=True) if a and "w0" in d)


def test_threads_scoring_at_once_agree(tmp_path: Path) -> None:
    docs = _corpus(5)
    Postings.build(docs).save(tmp_path)
    index = LexicalIndex([Postings.load(tmp_path)])
    queries = QUERIES * 20
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(index.scores, queries))
    for query, scores in zip(queries, results, strict=True):
        assert np.array_equal(scores, _reference(docs, query))


def test_a_truncated_stream_is_named_when_loaded(tmp_path: Path) -> None:
    Postings.build(_corpus(6)).save(tmp_path)
    path = tmp_path / "postings_doc_gaps.npy"
    os.truncate(path, path.stat().st_size - 3)
    with pytest.raises(IndexCorruptError, match=r"postings_doc_gaps\.npy"):
        Postings.load(tmp_path)


def test_a_stream_that_disagrees_with_its_offsets_is_named_when_loaded(tmp_path: Path) -> None:
    Postings.build(_corpus(7)).save(tmp_path)
    np.save(tmp_path / "postings_tf.npy", np.load(tmp_path / "postings_tf.npy")[:-1])  # whole, but short
    with pytest.raises(IndexCorruptError, match=r"postings_tf\.npy"):
        Postings.load(tmp_path)


def test_a_stream_truncated_while_open_is_named_when_read(tmp_path: Path) -> None:
    Postings.build(_corpus(8)).save(tmp_path)
    postings = Postings.load(tmp_path)
    os.truncate(tmp_path / "postings_doc_gaps.npy", 200)
    assert len(postings.doc_gaps) > 400  # so some tokens' gaps are past the end now
    with pytest.raises(IndexCorruptError, match=r"postings_doc_gaps\.npy"):
        for token in WORDS:
            postings.documents_with(token)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open descriptors in /proc")
def test_files_close_when_asked_or_when_collected(tmp_path: Path) -> None:
    Postings.build(_corpus(9)).save(tmp_path)

    streams = {str(tmp_path / "postings_doc_gaps.npy"), str(tmp_path / "postings_tf.npy")}

    def open_streams() -> int:
        targets = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
                targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        return sum(target in streams for target in targets)

    postings = Postings.load(tmp_path)
    assert open_streams() == 2
    postings.close()
    postings.close()  # twice is harmless
    assert open_streams() == 0
    postings = Postings.load(tmp_path)
    del postings
    gc.collect()
    assert open_streams() == 0


def test_a_saved_vocabulary_is_sorted_by_utf8_bytes_and_finds_every_token(tmp_path: Path) -> None:
    """The build's vocabulary is written sorted as strings (no bytes object per token): the
    file is in the order of the tokens' UTF-8 bytes, which the loaded lookup's binary search
    needs, whatever the scripts: Vietnamese letters, letters beyond the BMP, and digits."""
    tokens = ["đồng", "dong", "việt", "viet", "z", "ă", "ấ", "a\U0001f600", "a\uffff", "10", "9", "", "đồng việt"]
    vocabulary = Vocabulary({token: column for column, token in enumerate(reversed(tokens))})
    vocabulary.save(tmp_path)
    blob = (tmp_path / Vocabulary.FILES[0]).read_bytes()
    offsets = np.load(tmp_path / Vocabulary.FILES[1])
    saved = [blob[offsets[i] : offsets[i + 1]] for i in range(len(tokens))]
    assert saved == sorted(token.encode() for token in tokens)
    loaded = Vocabulary.load(tmp_path)
    assert {token: loaded.get(token) for token in tokens} == {token: vocabulary.get(token) for token in tokens}
    assert loaded.get("dong viet") is None
