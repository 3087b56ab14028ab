"""Pruned BM25 (block-max MaxScore in C, retrieval/local/pruned.py) gives exactly the
exhaustive top k, and reads a fraction of the common words' postings.

Over real text: a sample of news-vi (skipped when the shared data is absent) and the
repository's corpus, asked titles (accented and typed without diacritics), body openings,
and random mixes of very common and rarer words, for k in 1, 10, 50 and 100; also over an
index of two parts with dead passages and a date-like filter, one saved and loaded, and
what the search asks (the top k plus the dense candidates' scores).
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.lexical_query import LexicalQuery, exhaustive_search, exhaustive_top
from retrieval.local import pruned as pruned_module
from retrieval.local.blocks import BLOCK, Blocks
from retrieval.local.postings import Postings
from retrieval.local.pruned import PrunedLexicalIndex
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.text import fold

REPO = Path(__file__).resolve().parents[3]
BAOMOI = REPO.parent / "shared" / "data" / "news-vi" / "baomoi-2017.jsonl.gz"
ARTICLES = 1500  # the first articles of the file: about 5,000 passages, tokenised in a few seconds
WINDOW = 40  # words a passage (after its article's title), at most 4 an article
COMMON = ["của", "và", "là", "các", "có", "được", "trong", "cho", "người", "những", "với", "này"]
KS = (1, 10, 50, 100)

if pruned_module.compiled() is None:
    pytest.skip(
        "retrieval/local/_bm25.c is not compiled (python setup.py build_ext --inplace)", allow_module_level=True
    )


def _passages(title: str, body: str) -> list[str]:
    words = body.split()
    return [f"{title} {' '.join(words[i : i + WINDOW])}" for i in range(0, min(len(words), 4 * WINDOW), WINDOW)]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def news(analyzer: Analyzer) -> tuple[list[str], list[str], Postings]:
    """(titles, passages, their postings) of the news sample."""
    if not BAOMOI.is_file():
        pytest.skip(f"news data not found at {BAOMOI} (shared data absent): the pruned BM25 is not checked on news")
    titles, texts = [], []
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as handle:
        for line in itertools.islice(handle, ARTICLES):
            record = json.loads(line)
            titles.append(record["title"])
            texts += _passages(record["title"], record.get("body") or record.get("sapo") or "")
    return titles, texts, Postings.build(analyzer.document_tokens(t) for t in texts)


def _questions(titles: list[str], texts: list[str], analyzer: Analyzer, count: int, seed: int) -> list[LexicalQuery]:
    rng = random.Random(seed)
    asked: list[str] = []
    for title in rng.sample(titles, min(count, len(titles))):
        asked += [title, fold(title)]
    for text in rng.sample(texts, min(count, len(texts))):
        words = text.split()
        start = rng.randrange(max(len(words) - 10, 1))
        asked.append(" ".join(words[start : start + 10]))
    vocabulary = [w for text in rng.sample(texts, min(200, len(texts))) for w in text.split()]
    for _ in range(count):  # common words with a few others, folded now and then
        words = rng.sample(COMMON, rng.randint(1, 4)) + rng.sample(vocabulary, rng.randint(0, 3))
        rng.shuffle(words)
        asked.append(" ".join(fold(w) if rng.random() < 0.2 else w for w in words))
    queries = []
    for question in asked:
        related = analyzer.related_place_tokens(question)
        queries.append(LexicalQuery(analyzer.query_tokens(question), ((related, 0.5),) if related else ()))
    queries.append(LexicalQuery(["của", "của", "và"], ((["là", "của"], 0.5),)))  # a repeated token counts twice
    return queries


def _same_top(index: PrunedLexicalIndex, queries: list[LexicalQuery], allowed: np.ndarray | None = None) -> None:
    for query in queries:
        for k in KS:
            ids, scores = exhaustive_top(index, query, k, allowed)
            found_ids, found_scores, _ = index.search(query, k, allowed)
            assert found_ids.tolist() == ids.tolist(), (query, k)
            assert found_scores.tobytes() == scores.tobytes(), (query, k)  # the same bits
            found = index.top(query, k, allowed)
            assert found.postings_read <= found.postings_total
            if not found.tied:  # else the search asked the exhaustive path (tested above)
                assert (found.ids.tolist(), found.scores.tobytes()) == (ids.tolist(), scores.tobytes())


def test_pruned_equals_exhaustive_on_news(news: tuple[list[str], list[str], Postings], analyzer: Analyzer) -> None:
    titles, texts, postings = news
    index = PrunedLexicalIndex([postings])
    assert index.pruning()
    assert postings.blocks is not None and postings.blocks.count > 0  # common words' lists have blocks
    _same_top(index, _questions(titles, texts, analyzer, 40, seed=1))


def test_pruned_equals_exhaustive_with_dead_passages_parts_and_a_filter(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer
) -> None:
    titles, texts, postings = news
    delta = Postings.build(analyzer.document_tokens(t) for t in texts[:600])  # re-ingested copies
    rng = np.random.default_rng(3)
    live = np.ones(postings.documents + delta.documents, dtype=bool)
    live[:600] = False  # superseded by the delta
    live[rng.choice(len(live), 200, replace=False)] = False  # deleted
    index = PrunedLexicalIndex([postings, delta], live)
    queries = _questions(titles, texts, analyzer, 12, seed=2)
    _same_top(index, queries)
    _same_top(index, queries, allowed=rng.random(len(live)) < 0.3)


def test_the_search_gets_the_same_top_and_candidate_scores(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer
) -> None:
    """What the answering asks (top k, and the scores of the dense candidates), pruned or not."""
    titles, texts, postings = news
    delta = Postings.build(analyzer.document_tokens(t) for t in texts[100:400])
    live = np.ones(postings.documents + delta.documents, dtype=bool)
    live[100:400] = False
    live[::17] = False
    exhaustive = PrunedLexicalIndex([postings, delta], live, prune=False)
    pruned = PrunedLexicalIndex([postings, delta], live)
    rng = np.random.default_rng(5)
    allowed = rng.random(len(live)) < 0.5
    for query in _questions(titles, texts, analyzer, 6, seed=6):
        rows = sorted(rng.choice(len(live), 50, replace=False).tolist())
        for mask in (None, allowed):
            expected = exhaustive_search(exhaustive, query, 50, mask, rows)
            assert [x.tobytes() for x in pruned.search(query, 50, mask, rows)] == [x.tobytes() for x in expected]
            assert [x.tobytes() for x in exhaustive.search(query, 50, mask, rows)] == [x.tobytes() for x in expected]


def test_pruned_equals_exhaustive_after_save_and_load(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer, tmp_path: Path
) -> None:
    titles, texts, postings = news
    postings.save(tmp_path)
    assert all((tmp_path / name).is_file() for name in Blocks.FILES)
    loaded = Postings.load(tmp_path)
    try:
        assert loaded.blocks is not None and loaded.blocks.count == postings.blocks.count  # type: ignore[union-attr]
        _same_top(PrunedLexicalIndex([loaded]), _questions(titles, texts, analyzer, 8, seed=4))
    finally:
        loaded.close()


def test_an_index_without_blocks_scores_every_posting_and_says_so(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    titles, texts, postings = news
    postings.save(tmp_path)
    for name in Blocks.FILES:  # as an index written before the blocks
        (tmp_path / name).unlink()
    loaded = Postings.load(tmp_path)
    pruned_module._warned.clear()
    try:
        index = PrunedLexicalIndex([loaded])
        with caplog.at_level(logging.WARNING, logger="retrieval.local.pruned"):
            assert not index.pruning()
        assert "hoptac reindex" in caplog.text
        query = _questions(titles, texts, analyzer, 2, seed=8)[0]
        assert [x.tobytes() for x in index.search(query, 50)] == [
            x.tobytes() for x in exhaustive_search(index, query, 50)
        ]
    finally:
        loaded.close()


def test_without_the_extension_the_search_scores_every_posting(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles, texts, postings = news
    monkeypatch.setattr(pruned_module, "compiled", lambda: None)
    pruned_module._warned.clear()
    index = PrunedLexicalIndex([postings])
    assert not index.pruning()
    query = _questions(titles, texts, analyzer, 2, seed=9)[0]
    assert [x.tobytes() for x in index.search(query, 50)] == [x.tobytes() for x in exhaustive_search(index, query, 50)]


def test_titles_with_common_words_read_a_fraction_of_their_postings(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer
) -> None:
    """Titles asked with three very common words decode a fraction of their lists' postings
    (the exhaustive scoring decodes them all), and rank the same. The share falls as the
    collection grows (docs/benchmarks.md: 38% at 100,000 passages for k = 50); on these
    5,000 passages it is measured for k = 1 and 10."""
    titles, _, postings = news
    index = PrunedLexicalIndex([postings])
    rng = random.Random(12)
    for k, most in ((1, 0.25), (10, 0.75)):
        read = total = 0
        for title in rng.sample(titles, 30):
            query = LexicalQuery([*rng.sample(COMMON, 3), *analyzer.query_tokens(title)])
            found = index.top(query, k)
            assert found.tied or found.ids.tolist() == exhaustive_top(index, query, k)[0].tolist()
            read, total = read + found.postings_read, total + found.postings_total
        assert total > 30 * 3 * BLOCK
        assert read < most * total, (k, read, total)


def test_a_rare_word_with_a_word_every_passage_holds_reads_few_blocks() -> None:
    rng = np.random.default_rng(11)
    fillers = [f"w{i}" for i in range(500)]
    docs = [
        ["của"] * int(rng.integers(1, 4)) + list(rng.choice(fillers, int(rng.integers(3, 30))))
        + (["vietlott"] if i % 1000 == 7 else [])
        for i in range(20_000)
    ]  # fmt: skip
    index = PrunedLexicalIndex([Postings.build(docs)])
    query = LexicalQuery(["vietlott", "của", "w1"])
    found = index.top(query, 10)
    assert found.postings_total > 20_000
    assert found.postings_read < 0.1 * found.postings_total, (found.postings_read, found.postings_total)
    ids, scores = exhaustive_top(index, query, 10)
    assert (found.ids.tolist(), found.scores.tobytes()) == (ids.tolist(), scores.tobytes())


def test_passages_tied_at_the_kth_place_are_those_the_exhaustive_search_picks() -> None:
    """Copies of one passage share its score: which of them are in the k best is the
    exhaustive path's choice (np.argpartition, as the search always took them)."""
    docs = [["hợp", "tác", "tỉnh"]] * 30 + [["hợp", "tác"], ["tỉnh", "bạn"]] * 20
    index = PrunedLexicalIndex([Postings.build(docs)])
    query = LexicalQuery(["hợp", "tác", "tỉnh"])
    assert index.top(query, 10).tied
    ids, scores = exhaustive_top(index, query, 10)
    found = index.search(query, 10, None, [0, 45])
    assert (found[0].tolist(), found[1].tobytes()) == (ids.tolist(), scores.tobytes())
    assert found[2].tobytes() == index.scores(query.tokens)[[0, 45]].tobytes()
    # the same over two parts, with dead passages, a filter and a weighted group
    live = np.ones(140, dtype=bool)
    live[[3, 50, 71]] = False
    allowed = np.arange(140) % 5 != 0
    index = PrunedLexicalIndex([Postings.build(docs), Postings.build(docs)], live)
    query = LexicalQuery(["hợp", "tác", "tỉnh", "tác"], ((["bạn"], 0.5),))
    for mask in (None, allowed):
        expected = exhaustive_search(index, query, 10, mask, [0, 45, 71, 139])
        assert [x.tobytes() for x in index.search(query, 10, mask, [0, 45, 71, 139])] == [x.tobytes() for x in expected]


def test_pruned_equals_exhaustive_on_the_repository_corpus(analyzer: Analyzer) -> None:
    from retrieval.articles.importers import import_path

    texts, titles = [], []
    for path in sorted((REPO / "corpus").rglob("*.md")):
        for article in import_path(path).articles:
            titles.append(article.title)
            texts += _passages(article.title, article.text)
    if not texts:
        pytest.skip("no repository corpus")
    index = PrunedLexicalIndex([Postings.build(analyzer.document_tokens(t) for t in texts)])
    _same_top(index, _questions(titles, texts, analyzer, 20, seed=5))


def test_questions_searched_at_once_from_threads_get_the_same_answers(
    news: tuple[list[str], list[str], Postings], analyzer: Analyzer
) -> None:
    """The compiled search runs without the GIL, on work arrays shared through a pool."""
    from concurrent.futures import ThreadPoolExecutor

    titles, texts, postings = news
    index = PrunedLexicalIndex([postings])
    queries = _questions(titles, texts, analyzer, 10, seed=10)
    alone = [[x.tobytes() for x in index.search(q, 50, None, [1, 2, 3])] for q in queries]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: [x.tobytes() for x in index.search(q, 50, None, [1, 2, 3])], queries * 3))
    assert together == alone * 3
