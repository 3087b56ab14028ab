"""Answer composition without the model: sentence choice, duplicates, the found decision."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from retrieval.answering import sentence_choice
from retrieval.answering.search import Searcher, check_question
from retrieval.answering.sentence_choice import NOT_FOUND_MESSAGE, _Candidate, compose_answer, is_found
from retrieval.engine import QuestionError
from retrieval.local.index import build_index
from retrieval.models import Article
from retrieval.vietnamese.analyzer import Analyzer, QueryForm
from tests.conftest import HashingEmbedder

VN = timezone(timedelta(hours=7))
SAME = "Hai tỉnh thống nhất đầu tư xây dựng cầu Đồng Việt qua sông Thái Bình."


def _article(id_: str, day: int, text: str) -> Article:
    return Article(id_, f"Bài {id_}", datetime(2020, 1, day, tzinfo=VN), "Báo Bắc Giang", text)


def _candidate(cosine: float, coverage: float) -> _Candidate:
    return _Candidate(row=0, score=cosine, cosine=cosine, coverage=coverage, published=None, words=frozenset())


def _answer(articles: list[Article], question: str, baseline: float = -1.0, **kwargs: int):  # type: ignore[no-untyped-def]
    embedder = HashingEmbedder()
    analyzer = Analyzer()
    index = build_index(articles, embedder, analyzer)  # type: ignore[arg-type]
    query = embedder.encode_query(question)
    ranked = Searcher(analyzer).passages(index, question, query)
    return index, compose_answer(index, analyzer, question, query, ranked, baseline, **kwargs)


def test_when_two_articles_say_the_same_the_newer_one_is_cited() -> None:
    older = _article("cu", 1, SAME + " Tin cũ về dự án.")
    newer = _article("moi", 20, SAME + " Tin mới về tiến độ.")
    _, answer = _answer([older, newer], "cầu Đồng Việt qua sông Thái Bình")
    assert answer.found
    assert answer.citations[0].article_id == "moi"
    assert [c.sentence for c in answer.citations].count(SAME) == 1


def test_citations_are_exact_slices_with_the_article_metadata() -> None:
    article = _article("a", 5, "Mở đầu bài viết. " + SAME + " Kết thúc.")
    _, answer = _answer([article], "cầu Đồng Việt")
    citation = answer.citations[0]
    assert article.text[citation.start : citation.end] == citation.sentence == SAME
    assert (citation.title, citation.source, citation.published) == (
        "Bài a",
        "Báo Bắc Giang",
        "2020-01-05T00:00:00+07:00",
    )
    assert answer.answer.startswith(f"[1] {SAME}")


def test_limit_caps_the_number_of_quoted_sentences() -> None:
    text = " ".join(f"Cầu Đồng Việt giai đoạn {i} được triển khai." for i in range(1, 8))
    _, answer = _answer([_article("a", 5, text)], "cầu Đồng Việt triển khai", limit=2)
    assert len(answer.citations) <= 2


def test_a_question_far_below_the_background_is_not_found() -> None:
    _, answer = _answer([_article("a", 5, SAME)], "cầu Đồng Việt", baseline=2.0)
    assert not answer.found
    assert answer.answer == NOT_FOUND_MESSAGE
    assert answer.citations == ()


@pytest.mark.parametrize(
    ("cosine", "coverage", "form", "found"),
    [
        (0.88, 1.0, QueryForm.ACCENTED, True),  # clearly above the background, all words present
        (0.84, 0.1, QueryForm.ACCENTED, False),  # near the background, words missing
        (0.79, 1.0, QueryForm.UNACCENTED, True),  # typed without diacritics, words all there
        (0.77, 0.0, QueryForm.UNACCENTED, False),
        (0.81, 0.0, QueryForm.ENGLISH, True),  # English: meaning above the background suffices
        (0.77, 0.0, QueryForm.ENGLISH, False),
    ],
)
def test_found_threshold(cosine: float, coverage: float, form: QueryForm, found: bool) -> None:
    assert (
        is_found(_candidate(cosine, coverage), baseline=0.80, form=form, weights=sentence_choice.WEIGHTS["standalone"])
        is found
    )


@pytest.mark.parametrize("question", ["", "  \n ", "?!", "a" * 1001])
def test_empty_or_overlong_questions_are_refused(question: str) -> None:
    with pytest.raises(QuestionError):
        check_question(question)


@pytest.mark.parametrize(
    ("question", "reason"),
    [("", "the question is empty"), ("???", "the question has no words to search for"), ("<b></b>", "empty")],
)
def test_the_refusal_says_why(question: str, reason: str) -> None:
    with pytest.raises(QuestionError, match=reason):
        check_question(question)


def test_a_question_is_whitespace_normalised() -> None:
    assert check_question("  cầu\n Đồng   Việt ") == "cầu Đồng Việt"


def test_pasted_html_tags_are_not_searched_for() -> None:
    assert check_question("<b>cầu</b> & Đồng Việt?") == "cầu & Đồng Việt?"
    assert check_question("2 < 3 và 5 > 4") == "2 < 3 và 5 > 4"


def test_query_forms() -> None:
    analyzer = Analyzer()
    assert analyzer.query_form("Cầu Đồng Việt ở đâu?") == QueryForm.ACCENTED
    assert analyzer.query_form("cau Dong Viet o dau") == QueryForm.UNACCENTED
    assert analyzer.query_form("Where is the Dong Viet bridge?") == QueryForm.ENGLISH


LANES = "Cầu Đồng Việt có làn xe mới. Cầu Đồng Việt có 4 làn xe."


@pytest.mark.parametrize(
    "question",
    ["Cầu Đồng Việt có bao nhiêu làn xe?", "cau Dong Viet co bao nhieu lan xe", "How many lanes does Dong Viet have?"],
)
def test_a_how_many_question_prefers_the_sentence_with_a_number(question: str) -> None:
    _, answer = _answer([_article("a", 5, LANES)], question)
    assert answer.found
    assert answer.citations[0].sentence == "Cầu Đồng Việt có 4 làn xe."


def test_without_the_answer_type_the_two_sentences_tie(monkeypatch: pytest.MonkeyPatch) -> None:
    for mode, weights in sentence_choice.WEIGHTS.items():
        monkeypatch.setitem(sentence_choice.WEIGHTS, mode, dataclasses.replace(weights, answer_type=0.0))
    _, answer = _answer([_article("a", 5, LANES)], "Cầu Đồng Việt có bao nhiêu làn xe?")
    assert answer.citations[0].sentence == "Cầu Đồng Việt có làn xe mới."  # the tie goes to the earlier one
