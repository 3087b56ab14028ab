"""Milvus (Lite, a real engine behind the Milvus API) as the search engine: the same answers
as the local index, incremental changes, never a stale passage."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.search import Searcher
from retrieval.answering.sentence_choice import compose_answer
from retrieval.articles.corpus import read_corpus
from retrieval.local.index import build_index
from retrieval.milvus import index as milvus_index
from retrieval.milvus.index import MilvusIndex, MilvusIndexError, period_filter, term_id
from retrieval.models import Article
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import parse_dates
from tests.conftest import CORPUS, DATED, PARITY_QUESTIONS, HashingEmbedder

pytest.importorskip("milvus_lite")


def _articles() -> list[Article]:
    articles = [*read_corpus(CORPUS).articles, *read_corpus(DATED).articles]
    # Variants with their own ids, dates and a few paragraphs each: more passages to rank.
    base = articles[0]
    paragraphs = base.text.split("\n\n")
    for i in range(6):
        text = "\n\n".join(paragraphs[i::3])
        published = datetime(2020 + i, 1 + i, 10, tzinfo=UTC)
        articles.append(replace(base, id=f"variant-{i}", title=f"Tin số {i}: {base.title}", text=text,
                                published=published))  # fmt: skip
    return articles


@pytest.fixture
def milvus(tmp_path: Path) -> MilvusIndex:
    embedder = HashingEmbedder()
    index = MilvusIndex.connect(str(tmp_path / "milvus.db"), "t", embedder.model_id, embedder.dimension,
                                Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    yield index
    index.close()


def _local_answer(index, analyzer, embedder, question):  # type: ignore[no-untyped-def]
    query = embedder.encode_query(question)
    ranked = Searcher(analyzer).passages(index, question, query)
    return ranked, compose_answer(index, analyzer, question, query, ranked, 0.0)


def _milvus_answer(milvus, analyzer, embedder, question, where=None):  # type: ignore[no-untyped-def]
    query = embedder.encode_query(question)
    view = milvus.view(question, query, where=where)
    ranked = Searcher(analyzer).passages(view, question, query)
    view.fetch_sentences(r.passage for r in ranked[:4])
    return view, ranked, compose_answer(view, analyzer, question, query, ranked, 0.0)


def test_milvus_answers_as_the_local_index(milvus: MilvusIndex) -> None:
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    local = build_index(articles, embedder, analyzer)  # type: ignore[arg-type]
    milvus.put(milvus.prepare(articles))
    assert milvus.indexed().keys() == {a.id for a in articles}
    # As a replica that connects later (or after Milvus restarted) finds it: released.
    for name in milvus.client.list_collections():
        milvus.client.release_collection(name)
    milvus = MilvusIndex(milvus.client, "t", embedder.model_id, embedder.dimension, analyzer)
    for question in PARITY_QUESTIONS:
        ranked, answer = _local_answer(local, analyzer, embedder, question)
        view, m_ranked, m_answer = _milvus_answer(milvus, analyzer, embedder, question)

        def key(index, r):  # type: ignore[no-untyped-def]
            return index.article_of_passage(r.passage).id, round(r.dense, 4), round(r.lexical, 3)

        assert [key(view, r) for r in m_ranked[:10]] == [key(local, r) for r in ranked[:10]], question
        assert m_answer.answer == answer.answer, question
        assert [replace(c, score=round(c.score, 4)) for c in m_answer.citations] == [
            replace(c, score=round(c.score, 4)) for c in answer.citations
        ], question
        assert m_answer.confidence == answer.confidence
        article_text = {a.id: a.text for a in articles}
        for c in m_answer.citations:
            assert article_text[c.article_id][c.start : c.end] == c.sentence


def test_a_replaced_or_removed_article_is_never_found_again(milvus: MilvusIndex) -> None:
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    milvus.put(milvus.prepare(articles))
    seed = articles[0]
    changed = replace(seed, text=seed.text.replace("cầu Đồng Việt", "cầu Hòa Bình Mới"))
    milvus.put(milvus.prepare([changed]))
    milvus.put(milvus.prepare([changed]))  # a retried job: still one copy
    assert milvus.counts()["articles"] == len(articles)
    _, _, answer = _milvus_answer(milvus, analyzer, embedder, "cầu Hòa Bình Mới")
    assert answer.found and answer.citations[0].article_id == seed.id
    assert "Hòa Bình Mới" in answer.citations[0].sentence
    for question in ("cầu Đồng Việt ở đâu", "cau Dong Viet"):
        view, ranked, _ = _milvus_answer(milvus, analyzer, embedder, question)
        for r in ranked:
            view.fetch_sentences([r.passage])
            for row in view.passage_sentences(r.passage):
                if view.sentence(row).article_id == seed.id:
                    assert "Đồng Việt" not in view.sentence(row).text
    # The local index rebuilt from the same live articles scores exactly the same.
    live = [changed if a.id == seed.id else a for a in articles]
    local = build_index(live, embedder, analyzer)  # type: ignore[arg-type]
    ranked, _ = _local_answer(local, analyzer, embedder, "cầu Hòa Bình Mới")
    _, m_ranked, _ = _milvus_answer(milvus, analyzer, embedder, "cầu Hòa Bình Mới")
    assert [round(r.lexical, 3) for r in m_ranked[:5]] == [round(r.lexical, 3) for r in ranked[:5]]

    milvus.remove([seed.id, "no-such-article"])
    assert seed.id not in milvus.indexed()
    view, ranked, answer = _milvus_answer(milvus, analyzer, embedder, "cầu Hòa Bình Mới")
    assert all(view.article_of_passage(r.passage).id != seed.id for r in ranked)


def test_a_period_filter_keeps_to_its_articles(milvus: MilvusIndex) -> None:
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    milvus.put(milvus.prepare(articles))
    where = period_filter(parse_dates("năm 2022 hai tỉnh hợp tác gì"))
    assert where is not None
    view, ranked, _ = _milvus_answer(milvus, analyzer, embedder, "hai tỉnh hợp tác gì", where)
    assert ranked
    years = {view.article_of_passage(r.passage).published.year for r in ranked}  # type: ignore[union-attr]
    assert years == {2022}


def test_rebuild_swaps_generations_and_a_wrong_model_is_refused(tmp_path: Path, milvus: MilvusIndex) -> None:
    articles, embedder = _articles(), HashingEmbedder()
    milvus.put(milvus.prepare(articles[:2]))
    first = milvus.live_generation()
    milvus.rebuild(milvus.prepare(articles))
    assert milvus.live_generation() != first
    assert not milvus.client.has_collection(f"t_{first}_passages")
    assert milvus.indexed().keys() == {a.id for a in articles}
    other = MilvusIndex(milvus.client, "t", "another-model", embedder.dimension, Analyzer())
    with pytest.raises(MilvusIndexError, match="hoptac reindex"):
        other.view("cầu", np.zeros(embedder.dimension, np.float32))
    empty = MilvusIndex(milvus.client, "nothing", embedder.model_id, embedder.dimension, Analyzer())
    with pytest.raises(MilvusIndexError, match="holds no hoptac index"):
        empty.counts()


def test_term_ids_are_stable_and_in_range() -> None:
    assert term_id("cầu") == term_id("cầu")
    assert term_id("cầu") != term_id("~cau")
    assert all(0 <= term_id(t) < 2**32 - 1 for t in ("a", "~b", "c_d", "Đồng_Việt"))


class _NoHnsw:
    """A client refusing HNSW as milvus-lite 2.5 does (its local mode builds FLAT and IVF_FLAT only)."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self._client = client
        self.refused = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._client, name)

    def create_collection(self, name, **kwargs):  # type: ignore[no-untyped-def]
        from pymilvus import MilvusException

        params = kwargs.get("index_params")
        if params is not None and any(p.index_type == "HNSW" for p in params):
            self._client.create_collection(name, **kwargs | {"index_params": None})  # left behind, as a refusal does
            self.refused += 1
            raise MilvusException(65535, "invalid index type: HNSW, local mode only support FLAT IVF_FLAT AUTOINDEX: ")
        return self._client.create_collection(name, **kwargs)


def test_an_engine_without_hnsw_gets_a_flat_index_and_the_same_answers(milvus: MilvusIndex) -> None:
    articles, embedder, analyzer = _articles(), HashingEmbedder(), Analyzer()
    client = _NoHnsw(milvus.client)
    flat = MilvusIndex(client, "flat", embedder.model_id, embedder.dimension, analyzer, embedder)  # type: ignore[arg-type]
    flat.rebuild(flat.prepare(articles))
    milvus.rebuild(milvus.prepare(articles))
    assert client.refused == 1
    generation = flat.live_generation()
    assert client.describe_index(f"flat_{generation}_passages", "dense")["index_type"] == "FLAT"
    for question in PARITY_QUESTIONS:
        _, ranked, answer = _milvus_answer(flat, analyzer, embedder, question)
        _, expected_ranked, expected = _milvus_answer(milvus, analyzer, embedder, question)
        assert [r.passage for r in ranked] == [r.passage for r in expected_ranked]
        assert answer.answer == expected.answer


def _wait_for_terms(index: MilvusIndex, revision: int) -> None:
    """Until ``index`` holds the document frequencies of ``revision`` (read in the background)."""
    deadline = time.monotonic() + 30
    while (index._terms is None or index._terms.revision != revision) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert index._terms is not None and index._terms.revision == revision


def test_a_replica_holding_the_frequencies_sees_another_writers_changes(
    milvus: MilvusIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that read the document frequencies whole answers with the idf a replica
    opened afresh computes, after another writer added or removed an article in place."""
    monkeypatch.setattr(milvus_index, "LIVE_TTL_S", 0.0)  # the new statistics at once
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    milvus.put(milvus.prepare(articles))
    replica = MilvusIndex(milvus.client, "t", embedder.model_id, embedder.dimension, analyzer)
    assert replica.warm_up()
    question = "tàu ngầm Xylofon cập cảng nào"
    (rare,) = analyzer.query_tokens("Xylofon")

    def fresh() -> tuple[float, str]:
        opened = MilvusIndex(milvus.client, "t", embedder.model_id, embedder.dimension, analyzer)
        view, _, answer = _milvus_answer(opened, analyzer, embedder, question)
        return view.lexical.idf(rare), answer.answer

    def seen() -> tuple[float, str]:
        view, _, answer = _milvus_answer(replica, analyzer, embedder, question)
        return view.lexical.idf(rare), answer.answer

    unknown = seen()
    assert unknown == fresh()
    base = articles[0]
    new = replace(base, id="xylofon", title="Tàu ngầm Xylofon", published=None,
                  text="Tàu ngầm Xylofon cập cảng Cam Ranh sáng nay.\n\nTàu ngầm Xylofon dài 70 mét.")  # fmt: skip
    writer = MilvusIndex(milvus.client, "t", embedder.model_id, embedder.dimension, analyzer, embedder)
    writer.put(writer.prepare([new]))
    added = seen()  # the held table is of the revision before: a point read
    assert added == fresh() and added[0] < unknown[0]
    _wait_for_terms(replica, replica._live()[1].revision)  # read again in the background
    assert seen() == added
    writer.remove([new.id])
    assert seen() == fresh() == unknown
    _wait_for_terms(replica, replica._live()[1].revision)
    assert seen() == unknown


class _Counting:
    """A client counting its calls by method and collection kind (``("get", "terms")``)."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self._client = client
        self.calls: Counter[tuple[str, str]] = Counter()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            collection = str(args[0] if args else kwargs.get("collection_name", ""))
            self.calls[(name, collection.rsplit("_", 1)[-1])] += 1
            return method(*args, **kwargs)

        return call


def test_a_question_costs_a_few_calls_whatever_its_length(milvus: MilvusIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the document frequencies held, a question reads no ``terms`` row: two searches,
    one scoring search, the articles and the sentences, however many words it has."""
    monkeypatch.setattr(milvus_index, "LIVE_TTL_S", 3600.0)
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    milvus.put(milvus.prepare(articles))
    client = _Counting(milvus.client)
    replica = MilvusIndex(client, "t", embedder.model_id, embedder.dimension, analyzer)  # type: ignore[arg-type]
    assert replica.warm_up()
    short = "cầu Đồng Việt"
    long = "cầu Đồng Việt nối hai tỉnh nào, dài bao nhiêu mét, khởi công năm nào và ai là chủ đầu tư dự án"
    assert len(analyzer.query_tokens(long)) > 3 * len(analyzer.query_tokens(short))
    calls = {}
    for question in (short, long):
        _milvus_answer(replica, analyzer, embedder, question)  # the collections' load state, once
        client.calls.clear()
        _milvus_answer(replica, analyzer, embedder, question)
        assert client.calls[("get", "terms")] == 0, client.calls
        calls[question] = sum(client.calls.values())
    assert calls[short] == calls[long] <= 5, calls
    # Another writer moved the revision: one point read for all the question's words.
    writer = MilvusIndex(milvus.client, "t", embedder.model_id, embedder.dimension, analyzer, embedder)
    writer.remove([articles[-1].id])
    replica._live_cache = None
    client.calls.clear()
    _milvus_answer(replica, analyzer, embedder, long)
    assert client.calls[("get", "terms")] == 1, client.calls


def test_a_passages_article_id_is_known_without_reading_the_article(milvus: MilvusIndex) -> None:
    # compose_answer lists the ranked articles by id for every question: from the rows, on
    # both engines, the same as reading each article.
    articles, analyzer, embedder = _articles(), Analyzer(), HashingEmbedder()
    local = build_index(articles, embedder, analyzer)  # type: ignore[arg-type]
    milvus.put(milvus.prepare(articles))
    for passage in range(len(local.passage_rows)):
        assert local.article_id_of_passage(passage) == local.article_of_passage(passage).id
    query = embedder.encode_query("cầu Đồng Việt")
    view = milvus.view("cầu Đồng Việt", query)
    for passage in Searcher(analyzer).passages(view, "cầu Đồng Việt", query):
        assert view.article_id_of_passage(passage.passage) == view.article_of_passage(passage.passage).id
