"""Span pooling: token grouping by hand-made offsets, then the real model end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.embedding.span_pooling import (
    NO_SPAN,
    assign_tokens,
    check_spans,
    complete_spans,
    covered_end,
    is_truncated,
    locate_spans,
    pool_tokens,
)

PROMPT = "passage: "
P = len(PROMPT)
TEXT = "Title\nAb cd. Ef."  # title, then two sentences: "Ab cd." and "Ef."
SPANS = [(6, 12), (13, 16)]
# (token, start, end, special) with offsets into PROMPT + TEXT, as a fast tokenizer gives them:
# a '▁' piece's offsets include the space (or newline) before it.
TOKENS = [
    ("<s>", 0, 0, True),
    ("▁passage", 0, 7, False),
    (":", 7, 8, False),
    ("▁Title", 8, P + 5, False),  # starts on the prompt's trailing space
    ("▁Ab", P + 5, P + 8, False),  # "\nAb": placed by its last character, in span 0
    ("▁cd", P + 8, P + 11, False),
    (".", P + 11, P + 12, False),
    ("▁", P + 12, P + 13, False),  # a bare '▁' on the space just before span 1
    ("Ef", P + 13, P + 15, False),
    (".", P + 15, P + 16, False),
    ("</s>", 0, 0, True),
]
GROUPS = [NO_SPAN, NO_SPAN, NO_SPAN, NO_SPAN, 0, 0, 0, 1, 1, 1, NO_SPAN]


def _layout(tokens: list[tuple[str, int, int, bool]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.array([(a, b) for _, a, b, _ in tokens], dtype=np.int64).reshape(-1, 2)
    special = np.array([s for *_, s in tokens], dtype=bool)
    return offsets, special


def _hidden(n: int, d: int = 4) -> np.ndarray:
    return np.random.default_rng(n).normal(size=(n, d)).astype(np.float32)


def test_tokens_are_grouped_by_their_last_character() -> None:
    offsets, special = _layout(TOKENS)
    assert PROMPT + TEXT == "passage: Title\nAb cd. Ef."
    assert assign_tokens(offsets, special, SPANS, TEXT, P).tolist() == GROUPS


def test_prompt_special_and_title_tokens_belong_to_no_span() -> None:
    offsets, special = _layout(TOKENS)
    groups = assign_tokens(offsets, special, [(13, 16)], TEXT, P)  # only the second sentence
    assert groups.tolist() == [NO_SPAN] * 7 + [0, 0, 0, NO_SPAN]
    assert assign_tokens(offsets, special, [], TEXT, P).tolist() == [NO_SPAN] * len(TOKENS)


def test_a_whitespace_token_goes_to_the_span_right_after_it_only() -> None:
    text = "T\n A. B "
    tokens = [
        ("▁T", 0, 1, False),
        ("▁", 1, 3, False),  # "\n " in the gap before span 0
        ("A", 3, 4, False),
        (".", 4, 5, False),
        ("▁B", 5, 7, False),
        ("▁", 7, 8, False),  # trailing whitespace after the last span
    ]
    offsets, special = _layout(tokens)
    assert assign_tokens(offsets, special, [(3, 5), (6, 7)], text).tolist() == [NO_SPAN, 0, 0, 0, 1, NO_SPAN]


def test_pooling_means_each_span_and_the_whole_passage() -> None:
    offsets, special = _layout(TOKENS)
    hidden = _hidden(len(TOKENS))
    passage, vectors = pool_tokens(hidden, offsets, special, SPANS, TEXT, P, truncated=False)
    mean = hidden.mean(axis=0)
    np.testing.assert_allclose(passage, mean / np.linalg.norm(mean), atol=1e-6)
    for k, vector in enumerate(vectors):
        rows = hidden[np.array(GROUPS) == k].mean(axis=0)
        assert vector is not None
        np.testing.assert_allclose(vector, rows / np.linalg.norm(rows), atol=1e-6)


def test_a_span_without_tokens_of_its_own_is_not_pooled() -> None:
    offsets, special = _layout([("<s>", 0, 0, True), ("▁abc", 0, 3, False), ("</s>", 0, 0, True)])
    # "a" and "bc" are two spans inside one token: the token goes to the span of its last character
    _, vectors = pool_tokens(_hidden(3), offsets, special, [(0, 1), (1, 3)], "abc", truncated=False)
    assert vectors[0] is None and vectors[1] is not None


def test_spans_cut_by_truncation_are_not_pooled() -> None:
    # The model's maximum length kept the tokens up to "Ef": the second sentence lost its ".".
    cut = [*TOKENS[:9], TOKENS[-1]]
    offsets, special = _layout(cut)
    assert covered_end(offsets, special, P) == 15
    assert is_truncated(offsets, special, TEXT, P)
    assert complete_spans(SPANS, 15, truncated=True).tolist() == [True, False]
    _, vectors = pool_tokens(_hidden(len(cut)), offsets, special, SPANS, TEXT, P)  # truncation inferred
    assert vectors[0] is not None and vectors[1] is None
    # ... and a span cut right at its end is whole
    offsets, special = _layout([*TOKENS[:7], TOKENS[-1]])
    _, vectors = pool_tokens(_hidden(8), offsets, special, SPANS, TEXT, P)
    assert vectors[0] is not None and vectors[1] is None


def test_trailing_whitespace_is_not_truncation() -> None:
    offsets, special = _layout(TOKENS)
    assert not is_truncated(offsets, special, TEXT + " \n", P)
    assert complete_spans(SPANS, 0, truncated=False).tolist() == [True, True]


def test_spans_are_located_in_order_and_checked() -> None:
    assert locate_spans(TEXT, ["Ab cd.", "Ef."], len("Title") + 1) == SPANS
    assert locate_spans("A.\nA. A.", ["A.", "A."], 3) == [(3, 5), (6, 8)]  # not the title's "A."
    assert locate_spans(TEXT, ["Ef.", "Ab cd."]) is None
    check_spans(SPANS, len(TEXT))
    for bad in ([(3, 3)], [(6, 12), (11, 14)], [(13, 16), (6, 12)], [(10, 17)]):
        with pytest.raises(ValueError, match="span"):
            check_spans(bad, len(TEXT))


# --- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder(model_dir: Path) -> Any:
    from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder

    return Embedder.load(DEFAULT_MODEL, model_dir.parent, None, sentence_vectors="span")


def _passages() -> tuple[list[str], list[list[tuple[int, int]]], list[list[str]]]:
    from retrieval.articles.corpus import read_corpus
    from retrieval.articles.passages import build_passages
    from retrieval.articles.sentences import split_sentences
    from tests.conftest import CORPUS

    texts, spans, sentences = [], [], []
    for article in read_corpus(CORPUS).articles:
        split = split_sentences(article)
        for passage in build_passages(article, split, 0):
            parts = [s.text for s in split[passage.first_sentence : passage.last_sentence + 1]]
            located = locate_spans(passage.text, parts, len(article.title) + 1)
            assert located is not None
            texts.append(passage.text)
            spans.append(located)
            sentences.append(parts)
    return texts, spans, sentences


@pytest.mark.model
def test_one_pass_gives_the_passage_vectors_and_close_sentence_vectors(embedder: Any) -> None:
    assert embedder.supports_span_pooling()
    texts, spans, sentences = _passages()
    passages, pooled, computed = embedder.encode_passages_with_spans(texts, spans)
    assert computed == len(texts)
    np.testing.assert_allclose(passages, embedder.encode_raw(texts), atol=1e-5)
    for parts, vectors in zip(sentences, pooled, strict=True):
        standalone = embedder.encode_raw(parts)
        for vector, alone in zip(vectors, standalone, strict=True):
            assert vector is not None
            assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5
            assert float(vector @ alone) > 0.7


@pytest.mark.model
def test_span_vectors_are_the_same_without_sentence_transformers(embedder: Any, model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from retrieval.embedding.embedder import Embedder

    reference = Embedder(SentenceTransformer(str(model_dir), device="cpu"), embedder.name, None, 4, "span")
    assert reference.supports_span_pooling()
    texts, spans, _ = _passages()
    mine, mine_spans, _ = embedder.encode_passages_with_spans(texts, spans)
    theirs, their_spans, _ = reference.encode_passages_with_spans(texts, spans)
    np.testing.assert_allclose(mine, theirs, atol=1e-5)
    for ours, reference_vectors in zip(mine_spans, their_spans, strict=True):
        for a, b in zip(ours, reference_vectors, strict=True):
            assert a is not None and b is not None
            np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.model
def test_a_passage_past_the_maximum_length_pools_only_its_whole_sentences(embedder: Any, tmp_path: Path) -> None:
    from retrieval.embedding.embedder import EmbeddingCache

    texts, spans, sentences = _passages()
    title_end = spans[0][0][0]
    parts = sentences[0] * 40
    long_text = texts[0][:title_end] + " ".join(parts)
    long_spans = locate_spans(long_text, parts, title_end)
    assert long_spans is not None
    cached = embedder.with_cache(EmbeddingCache(tmp_path / "cache.sqlite3"))
    passages, pooled, computed = cached.encode_passages_with_spans([long_text, texts[1]], [long_spans, spans[1]])
    assert computed == 2
    np.testing.assert_allclose(passages, embedder.encode_raw([long_text, texts[1]]), atol=1e-5)
    kept = [v is not None for v in pooled[0]]
    assert kept[0] and not kept[-1]
    assert kept == sorted(kept, reverse=True)  # whole sentences first, then the cut-off ones
    assert all(v is not None for v in pooled[1])
    # Everything (the cut-off spans too) is cached: a second call computes nothing.
    again, pooled_again, computed_again = cached.encode_passages_with_spans(
        [long_text, texts[1]], [long_spans, spans[1]]
    )
    assert computed_again == 0
    np.testing.assert_array_equal(again, passages)
    for first, second in zip(pooled, pooled_again, strict=True):
        for a, b in zip(first, second, strict=True):
            assert (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


@pytest.fixture(scope="module")
def span_engine(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An engine over the embedded corpus with ``sentence_vectors = "span"``."""
    import shutil

    from hoptac.settings import Settings
    from retrieval.local.engine import LocalEngine
    from tests.conftest import CORPUS

    root = tmp_path_factory.mktemp("span")
    shutil.copytree(CORPUS, root / "corpus")
    settings = Settings(  # type: ignore[call-arg]
        corpus_dir=root / "corpus", data_dir=root / "data", sentence_vectors="span", _env_file=None
    )
    engine = LocalEngine(settings.engine_config(), embedder=embedder)
    engine.reindex()
    return engine


@pytest.mark.model
def test_the_index_takes_sentence_vectors_from_spans(span_engine: Any, embedder: Any) -> None:
    index = span_engine.index
    texts = []
    spans = []
    for p in range(len(index.passage_rows)):
        article = index.article_of_passage(p)
        parts = [index.sentence(r).text for r in index.passage_sentences(p)]
        texts.append(article.title + "\n" + " ".join(parts))
        located = locate_spans(texts[-1], parts, len(article.title) + 1)
        assert located is not None
        spans.append(located)
    _, pooled, _ = embedder.encode_passages_with_spans(texts, spans)
    expected: dict[int, np.ndarray] = {}
    for p, vectors in enumerate(pooled):
        for r, vector in zip(index.passage_sentences(p), vectors, strict=True):
            if vector is not None:
                expected.setdefault(r, vector)  # the first passage holding the sentence
    assert len(expected) == len(index.sentence_rows)
    # Stored as int8 with a scale per row (retrieval/embedding/compact.py): within half a step, max|v| / 254.
    for r, vector in expected.items():
        np.testing.assert_allclose(index.sentence_vectors[r], vector, atol=np.abs(vector).max() / 254 + 1e-5)
    assert index.manifest.model.endswith("+span-sentences")
    answer = span_engine.ask("Hai tỉnh sẽ phối hợp xây dựng những dự án nào?")
    assert answer.found
    assert "cầu Đồng Việt" in answer.citations[0].sentence


@pytest.mark.model
def test_by_default_sentence_vectors_come_from_their_passages(real_engine: Any) -> None:
    assert real_engine.embedder().supports_span_pooling()
    assert real_engine.index.manifest.model.endswith("+span-sentences")


@pytest.mark.model
def test_standalone_sentences_are_embedded_on_their_own(embedder: Any, tmp_path: Path) -> None:
    import shutil

    from hoptac.settings import Settings
    from retrieval.local.engine import LocalEngine
    from tests.conftest import CORPUS

    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = Settings(  # type: ignore[call-arg]
        corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", sentence_vectors="standalone", _env_file=None
    )
    standalone = embedder.with_cache(None, "standalone")
    engine = LocalEngine(settings.engine_config(), embedder=standalone)
    engine.reindex()
    assert not standalone.supports_span_pooling()
    index = engine.index
    rows = list(range(min(5, len(index.sentence_rows))))
    alone, _ = standalone.encode_passages([index.sentence(r).text for r in rows])
    step = np.abs(alone).max(axis=1, keepdims=True) / 254 + 1e-5  # int8 with a scale per row
    assert (np.abs(index.sentence_vectors[rows] - alone) <= step).all()
    assert not index.manifest.model.endswith("+span-sentences")


def test_switching_how_sentence_vectors_are_made_asks_for_a_reindex(tmp_path: Path) -> None:
    from hoptac.settings import Settings
    from retrieval.local.engine import LocalEngine

    ids = {
        mode: LocalEngine(
            Settings(corpus_dir=tmp_path, data_dir=tmp_path, sentence_vectors=mode, _env_file=None).engine_config()  # type: ignore[call-arg]
        ).expected_model_id()
        for mode in ("standalone", "span")
    }
    assert ids["standalone"] != ids["span"]
    assert ids["span"] == ids["standalone"] + "+span-sentences"
