"""The Vietnamese sentence splitter on real cases from the seed article."""

from __future__ import annotations

from retrieval.articles.sentences import MAX_SENTENCE_CHARS, paragraphs, split_sentences
from retrieval.models import Article


def _split(text: str) -> list[str]:
    article = Article(id="a", title="t", published=None, source="", text=text)
    sentences = split_sentences(article)
    for s in sentences:
        assert article.text[s.start : s.end] == s.text
    return [s.text for s in sentences]


def test_dates_abbreviations_ranges_and_parentheses_stay_inside_one_sentence() -> None:
    text = (
        "Chiều 5.10, tại TP Chí Linh, các đồng chí chủ trì hội nghị về hợp tác phát triển kinh tế - "
        "xã hội (KTXH) giai đoạn 2020-2025. Hai tỉnh đề nghị công nhận Côn Sơn-Kiếp Bạc là di sản thế giới."
    )
    assert _split(text) == [
        "Chiều 5.10, tại TP Chí Linh, các đồng chí chủ trì hội nghị về hợp tác phát triển kinh tế - "
        "xã hội (KTXH) giai đoạn 2020-2025.",
        "Hai tỉnh đề nghị công nhận Côn Sơn-Kiếp Bạc là di sản thế giới.",
    ]


def test_abbreviations_with_dots_and_initials_do_not_end_sentences() -> None:
    text = "Đoàn của TP. Hồ Chí Minh do PGS.TS. Nguyễn V. An dẫn đầu. Đoàn đến lúc 8 giờ."
    assert _split(text) == ["Đoàn của TP. Hồ Chí Minh do PGS.TS. Nguyễn V. An dẫn đầu.", "Đoàn đến lúc 8 giờ."]


def test_ellipsis_ends_a_sentence_only_before_a_capital() -> None:
    text = "Các lĩnh vực văn hoá, du lịch... đều tăng. Kết quả tích cực... Hai tỉnh thống nhất."
    assert _split(text) == [
        "Các lĩnh vực văn hoá, du lịch... đều tăng.",
        "Kết quả tích cực...",
        "Hai tỉnh thống nhất.",
    ]


def test_quotes_close_the_sentence_they_end() -> None:
    text = 'Ông nói: "Đây là cây cầu quan trọng." Sau đó đoàn đi thăm công trình.'
    assert _split(text) == ['Ông nói: "Đây là cây cầu quan trọng."', "Sau đó đoàn đi thăm công trình."]


def test_numbers_with_dots_and_commas_are_not_boundaries() -> None:
    assert _split("Dự án có tổng vốn 1.250,5 tỷ đồng. Cầu dài 1.2 km.") == [
        "Dự án có tổng vốn 1.250,5 tỷ đồng.",
        "Cầu dài 1.2 km.",
    ]


def test_caption_paragraphs_are_marked_and_their_marker_is_not_quoted() -> None:
    text = "Đoạn mở đầu.\n\n> Đồng chí Bùi Văn Hải phát biểu tại hội nghị\n\nĐoạn tiếp theo."
    article = Article(id="a", title="t", published=None, source="", text=text)
    sentences = split_sentences(article)
    assert [(s.text, s.is_caption, s.paragraph) for s in sentences] == [
        ("Đoạn mở đầu.", False, 0),
        ("Đồng chí Bùi Văn Hải phát biểu tại hội nghị", True, 1),
        ("Đoạn tiếp theo.", False, 2),
    ]
    assert [p.is_caption for p in paragraphs(text)] == [False, True, False]


def test_an_overlong_sentence_is_cut_at_clause_boundaries_into_exact_slices() -> None:
    clause = "các sở, ngành hai tỉnh phối hợp xây dựng kế hoạch kết nối giao thông; "
    pieces = _split(clause * 30)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)


def test_every_seed_sentence_is_an_exact_slice(seed_article: Article) -> None:
    sentences = split_sentences(seed_article)
    assert len(sentences) == 24
    assert all(seed_article.text[s.start : s.end] == s.text for s in sentences)
    assert any("cầu Đồng Việt qua sông Thái Bình" in s.text for s in sentences)
