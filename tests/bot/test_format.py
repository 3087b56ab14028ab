"""Answer formatting and splitting, checked with the fake server's Telegram-HTML parser."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.format import format_answer
from bot.testing.telegram_html import EntityParseError, parse_html
from markup.catalogue import CAPTION, LESS_RELATED
from markup.html import MESSAGE_LIMIT, format_date, split_html, utf16_len
from retrieval.models import Answer, Article, Citation
from tests.bot_harness import ARTICLE, MOU, TRANSPORT, article_sentences, citation


def test_article_text_is_escaped_and_only_web_urls_become_links() -> None:
    hostile = Citation(
        article_id="x",
        title='Hải Dương & Bắc Giang <ký> "ghi nhớ"',
        published="2019-10-05T21:36:00+07:00",
        source="Báo <i>",
        url="javascript:alert(1)",
        sentence="Giá trị <b>hợp tác</b> & đầu tư tăng 5% > dự kiến.",
        start=0,
        end=49,
        score=1.0,
    )
    markup = format_answer(Answer(question="<script>?", found=True, answer="", citations=(hostile,)))

    text, entities = parse_html(markup)

    assert "«Giá trị <b>hợp tác</b> & đầu tư tăng 5% > dự kiến.»" in text
    assert 'Hải Dương & Bắc Giang <ký> "ghi nhớ", Báo <i>, 05/10/2019' in text
    assert not [e for e in entities if e["type"] == "text_link"]
    assert "&#" not in markup  # only &lt; &gt; &amp; &quot;: the entities every parser knows


def test_a_link_keeps_its_url_exactly() -> None:
    url = 'https://example.org/tin?a=1&b="2"'
    markup = format_answer(Answer(question="q", found=True, answer="", citations=(replace(citation(MOU), url=url),)))

    _, entities = parse_html(markup)

    assert [e["url"] for e in entities if e["type"] == "text_link"] == [url]


def test_the_engine_answer_is_shown_only_when_it_adds_to_the_quotes() -> None:
    quoted = Answer(
        question="q", found=True, answer=f"[1] {MOU}\n[2] {TRANSPORT}", citations=(citation(MOU), citation(TRANSPORT))
    )
    summary = Answer(question="q", found=True, answer="Ký biên bản ghi nhớ.", citations=(citation(MOU),))

    assert format_answer(quoted).count(MOU) == 1
    assert "Ký biên bản ghi nhớ." in format_answer(summary)


def test_dates_read_the_vietnamese_way() -> None:
    assert format_date("2019-10-05T21:36:00+07:00") == "05/10/2019"
    assert format_date(None) == ""
    assert format_date("tháng 10") == "tháng 10"


def test_a_long_answer_splits_at_boundaries_into_valid_pieces_under_the_limit() -> None:
    citations = tuple(citation(s) for s in article_sentences()) * 2
    markup = format_answer(Answer(question="Tóm tắt?", found=True, answer="", citations=citations))
    assert utf16_len(markup) > 2 * MESSAGE_LIMIT

    pieces = split_html(markup)

    assert len(pieces) >= 3
    for piece in pieces:
        assert utf16_len(piece) <= MESSAGE_LIMIT
        parse_html(piece)  # raises on a cut tag or entity
        assert piece.startswith(("🔎", "<b>[")), "each piece starts at a quote, not mid-sentence"
    assert "".join(parse_html(p)[0] for p in pieces).replace("\n", "") == parse_html(markup)[0].replace("\n", "")


@pytest.mark.parametrize("limit", [110, 157, 333])
def test_splitting_inside_markup_closes_and_reopens_tags(limit: int) -> None:
    markup = (
        f'<b>Đậm <i>nghiêng &amp; <a href="{ARTICLE.url}">liên kết dài dài</a></i></b> '
        f"<blockquote>{TRANSPORT.replace('&', '&amp;')}</blockquote> Hết 😀."
    )

    pieces = split_html(markup, limit=limit)

    assert all(utf16_len(p) <= limit for p in pieces)
    plain = "".join(parse_html(p)[0] for p in pieces)
    assert plain.replace(" ", "") == parse_html(markup)[0].replace(" ", "")


def test_the_validator_rejects_what_telegram_rejects() -> None:
    for bad in ("<b>chưa đóng", "<script>x</script>", "Hải Dương & Bắc Giang", "<b><i>x</b></i>", "&nbsp;", "a < b"):
        with pytest.raises(EntityParseError):
            parse_html(bad)
    assert parse_html("&lt;b&gt; &amp; &quot; &#39; &#x27;")[0] == "<b> & \" ' '"


def test_a_low_confidence_answer_says_so_and_shows_its_quotes_differently() -> None:
    quotes = (citation(MOU), citation(TRANSPORT))
    sure = format_answer(Answer(question="q", found=True, answer="", citations=quotes, confidence="high"))
    related = format_answer(Answer(question="q", found=True, answer="", citations=quotes, confidence="low"))

    sure_text, sure_entities = parse_html(sure)
    related_text, related_entities = parse_html(related)

    assert "Chưa chắc" not in sure_text
    assert "Chưa chắc đây là câu trả lời — các câu liên quan nhất:" in related_text
    assert f"«{MOU}»" in sure_text and MOU in related_text and f"«{MOU}»" not in related_text

    def italic(text: str, entities: list[dict]) -> list[str]:  # type: ignore[type-arg]
        utf16 = text.encode("utf-16-le")
        return [
            utf16[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in entities
            if e["type"] == "italic"
        ]

    assert MOU in italic(related_text, related_entities)
    assert MOU not in italic(sure_text, sure_entities)


def test_weaker_quotes_come_under_their_heading_captions_are_marked_and_notes_are_one_line(
    seed_article: Article,
) -> None:
    caption = (
        "Đồng chí Nguyễn Mạnh Hiển, Ủy viên Trung ương Đảng, Bí thư Tỉnh uỷ, Chủ tịch HĐND tỉnh phát biểu tại hội nghị"
    )
    start = seed_article.text.index(caption)
    assert seed_article.text[start - 2 : start] == "> "  # a photo caption of the seed article
    quoted = Citation.quoting(seed_article, caption, start, start + len(caption), 1.0, is_caption=True)
    page = Answer(
        question="Ai phát biểu?",
        found=True,
        answer="",
        citations=(
            quoted,
            replace(citation(MOU), less_related=True),
            replace(citation(TRANSPORT), less_related=True, unit_notes=("Hải Dương nay thuộc TP Hải Phòng",)),
        ),
    )

    text, _ = parse_html(format_answer(page, first_number=4))

    assert f"[4] «{caption}» {CAPTION.say()}\n— " in text
    assert text.count(LESS_RELATED.say()) == 1
    assert text.index(f"[4] «{caption}»") < text.index(LESS_RELATED.say()) < text.index(f"[5] {MOU}\n— ")
    assert f"[6] {TRANSPORT}\nHải Dương nay thuộc TP Hải Phòng\n— " in text
    assert LESS_RELATED.say() not in format_answer(replace(page, citations=page.citations[:1]))
