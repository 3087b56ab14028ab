"""Every quote earns its place: further quotes pass the found decision on their own, and one
from another article shares the question's subject with the first."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from retrieval.answering import sentence_choice
from retrieval.answering.search import Searcher
from retrieval.answering.sentence_choice import compose_answer
from retrieval.local.index import build_index
from retrieval.models import Answer, Article
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.subject import holds_key_words, shares_subject
from tests.conftest import HashingEmbedder

VN = timezone(timedelta(hours=7))
BRIDGE = "Cầu Đồng Việt ở xã Đồng Việt, bắc qua sông Thái Bình."
GOLD_SHOP = "Đầu năm người dân ở Việt Trì đến tiệm Đồng Tâm mua vàng cầu may, cầu tài lộc."
OTHER_BRIDGE = "Dự án cầu Đồng Việt do hai tỉnh cùng đầu tư."
QUESTION = "cau Dong Viet o dau"


def _article(id_: str, text: str) -> Article:
    return Article(id_, f"Bài {id_}", datetime(2020, 1, 5, tzinfo=VN), "Báo", text)


def _ask(articles: list[Article], question: str, earned_quotes: bool = True) -> Answer:
    embedder = HashingEmbedder()
    analyzer = Analyzer()
    index = build_index(articles, embedder, analyzer)  # type: ignore[arg-type]
    query = embedder.encode_query(question)
    ranked = Searcher(analyzer).passages(index, question, query)
    return compose_answer(index, analyzer, question, query, ranked, -1.0, earned_quotes=earned_quotes)


@pytest.fixture
def wide_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every candidate within the follow-up margin: only the rule can drop a quote."""
    for mode, weights in sentence_choice.WEIGHTS.items():
        monkeypatch.setitem(sentence_choice.WEIGHTS, mode, dataclasses.replace(weights, follow_up_margin=10.0))


@pytest.mark.usefixtures("wide_margin")
def test_a_quote_from_another_article_without_the_questions_subject_is_dropped() -> None:
    articles = [_article("cau", BRIDGE), _article("vang", GOLD_SHOP)]

    before = _ask(articles, QUESTION, earned_quotes=False)
    after = _ask(articles, QUESTION)

    assert [c.sentence for c in before.citations] == [BRIDGE, GOLD_SHOP]  # the margin alone let it in
    assert [c.sentence for c in after.citations] == [BRIDGE]


@pytest.mark.usefixtures("wide_margin")
def test_a_quote_from_another_article_on_the_same_subject_stays() -> None:
    answer = _ask([_article("cau", BRIDGE), _article("du-an", OTHER_BRIDGE)], QUESTION)
    assert {c.sentence for c in answer.citations} == {BRIDGE, OTHER_BRIDGE}


@pytest.mark.usefixtures("wide_margin")
def test_a_further_quote_must_pass_the_found_decision_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    first_only = [BRIDGE]

    def found_for_the_bridge(candidate, baseline, form, weights) -> bool:  # type: ignore[no-untyped-def]
        return candidate.cosine >= 0.5

    articles = [_article("cau", f"{BRIDGE} Hôm nay trời đẹp.")]
    assert len(_ask(articles, QUESTION).citations) == 2
    monkeypatch.setattr(sentence_choice, "is_found", found_for_the_bridge)
    assert [c.sentence for c in _ask(articles, QUESTION).citations] == first_only


def test_the_subject_is_the_questions_word_pairs_the_first_quote_holds() -> None:
    analyzer = Analyzer()
    assert shares_subject(analyzer, QUESTION, BRIDGE, OTHER_BRIDGE)
    assert not shares_subject(analyzer, QUESTION, BRIDGE, GOLD_SHOP)  # "cầu", "Đồng", "Việt", never together
    assert shares_subject(analyzer, "Cầu Đồng Việt ở đâu?", BRIDGE, OTHER_BRIDGE)
    assert not shares_subject(analyzer, "Cầu Đồng Việt ở đâu?", BRIDGE, GOLD_SHOP)


def test_key_words_for_the_evaluation() -> None:
    analyzer = Analyzer()
    assert holds_key_words(analyzer, QUESTION, OTHER_BRIDGE)
    assert not holds_key_words(analyzer, "Cầu Đồng Việt bắc qua sông nào?", "Hôm nay trời đẹp.")
