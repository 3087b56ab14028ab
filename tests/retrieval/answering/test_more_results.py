"""With the real model: the "more results" pages of an answer (offset past the first page)."""

from __future__ import annotations

import pytest

from retrieval.local.engine import LocalEngine
from retrieval.models import Citation

pytestmark = pytest.mark.model

LIMIT = 3


def _pages(engine: LocalEngine, question: str) -> list[tuple[tuple[Citation, ...], bool | None]]:
    """Every page of ``question``'s answer, with what each says of the quotes left after it."""
    pages = []
    offset = 0
    while (answer := engine.ask(question, limit=LIMIT, offset=offset)).found:
        pages.append((answer.citations, answer.more_quotes))
        offset += len(answer.citations)
        assert len(pages) < 20
    assert answer.more_quotes is False and answer.citations == ()
    return pages


#: Questions the seed article answers, with and without diacritics.
ANSWERED = (
    "Hai tỉnh sẽ phối hợp những dự án nào?",
    "cau Dong Viet o dau",
    "hồ sơ UNESCO",
    "Hải Phòng và Bắc Ninh ký kết gì?",
    "Ai phát biểu tại hội nghị?",
    "Hải Dương và Bắc Giang ký kết gì?",
    "Hai tỉnh hợp tác trong những lĩnh vực nào?",
)


@pytest.mark.parametrize("question", ANSWERED)
def test_pages_go_on_without_repeats_the_weaker_last_and_say_when_none_is_left(
    real_engine: LocalEngine, question: str
) -> None:
    pages = _pages(real_engine, question)
    assert pages, "every one of these questions is answered"
    first_page, _ = pages[0]
    assert first_page == real_engine.ask(question, limit=LIMIT).citations  # the answer itself is the first page
    assert not any(c.less_related for c in first_page)
    assert [more for _, more in pages] == [True] * (len(pages) - 1) + [False]
    later = [c for citations, _ in pages[1:] for c in citations]
    quoted = [(c.article_id, c.start) for citations, _ in pages for c in citations]
    assert len(quoted) == len(set(quoted))
    weaker = [c.less_related for c in later]
    assert weaker == sorted(weaker)  # the close ones first, then the less related
    for citation in (c for c in later if c.less_related):
        # below the answer's own quotes, or another article's left out of the answer
        assert citation.score < min(c.score for c in first_page) or citation.article_id != first_page[0].article_id


def test_a_sentence_the_found_decision_refuses_is_never_a_further_quote(real_engine: LocalEngine) -> None:
    # The bridge sentence alone answers; the article's other sentences are only about the provinces.
    pages = _pages(real_engine, "Cầu Đồng Việt nối những địa phương nào?")
    assert len(pages) == 1 and len(pages[0][0]) == 1
