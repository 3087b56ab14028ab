"""Page furniture: recognised in crawled bodies, kept in the stored text, never a sentence."""

from __future__ import annotations

import pytest

from retrieval.articles.furniture import FurnitureKind, find_furniture
from retrieval.articles.sentences import split_sentences
from retrieval.models import Article

LINK = "[Nhật Bản cam kết hợp tác với ASEAN duy trì trật tự quốc tế cởi mở]"


def _found(text: str) -> list[tuple[FurnitureKind, str]]:
    return [(f.kind, text[f.start : f.end]) for f in find_furniture(text)]


def _sentences(text: str) -> list[str]:
    article = Article(id="a", title="t", published=None, source="", text=text)
    sentences = split_sentences(article)
    assert all(article.text[s.start : s.end] == s.text for s in sentences)
    return [s.text for s in sentences]


# -- related-article titles ----------------------------------------------------------------


def test_a_bracketed_title_between_two_sentences_is_a_related_link() -> None:
    text = (
        "Hai bên nhất trí duy trì một trật tự quốc tế cởi mở và tự do trong khu vực.  "
        f"{LINK}  Theo Bộ Ngoại giao Nhật Bản, cuộc gặp diễn ra tại Jakarta."
    )
    assert _found(text) == [(FurnitureKind.RELATED_LINK, LINK)]


def test_a_bracketed_title_after_a_closing_quote_and_at_the_paragraph_start_is_a_related_link() -> None:
    quoted = f'Ông nói: "Quan hệ hai nước đang ở giai đoạn tốt nhất." {LINK} Ông Lavrov từng nói như vậy.'
    assert _found(quoted) == [(FurnitureKind.RELATED_LINK, LINK)]
    assert _found(f"Đoạn mở đầu.\n\n{LINK}\n\nĐoạn sau.") == [(FurnitureKind.RELATED_LINK, LINK)]


def test_a_media_tagged_title_is_a_related_link_with_its_tag() -> None:
    text = (
        "Bình Nhưỡng đã phóng thử tên lửa.  [Video] Triều Tiên phóng tên lửa đạn đạo từ tỉnh Bắc Pyongan  "
        "Bộ Chỉ huy Thái Bình Dương của Mỹ cho biết đây là tên lửa tầm trung."
    )
    assert _found(text) == [
        (FurnitureKind.RELATED_LINK, "[Video] Triều Tiên phóng tên lửa đạn đạo từ tỉnh Bắc Pyongan")
    ]


def test_the_words_pointing_at_a_link_go_with_it() -> None:
    text = f"Hai bên nhất trí tăng cường hợp tác. Xem thêm: {LINK} Hội nghị kết thúc lúc 17 giờ."
    assert _found(text) == [(FurnitureKind.RELATED_LINK, f"Xem thêm: {LINK}")]
    text = "Giá nhà tăng mạnh. >> [Infographic] Vì sao năm 2017 nhà giá rẻ được mệnh danh là phân khúc vàng?"
    assert _found(text) == [
        (FurnitureKind.RELATED_LINK, ">> [Infographic] Vì sao năm 2017 nhà giá rẻ được mệnh danh là phân khúc vàng?")
    ]


@pytest.mark.parametrize(
    "text",
    [
        # an editor's insertion inside a quote or a sentence
        "“Trò chơi con gà và quả trứng giữa họ [OPEC và Nga] với thị trường đã trở lại”, ông Kilduff nói.",
        "Ông [Putin] là kẻ thù của nước Mỹ, ông ấy nói.",
        "“Khi Lutz Michael Frohlich [Chủ tịch Hội đồng trọng tài của Đức] thông tin cho tôi, tôi đã sốc.",
        # footnote marks
        "Mô hình này đã trải qua hai cuộc khủng hoảng [1,2]. Đây là một ví dụ [3].",
        # a quoted title in brackets inside prose, followed by lower-case words
        'Nhân viên mở cửa đọc điệp khúc "[Tên quán ăn] xin chào!" mỗi ngày.',
    ],
)
def test_brackets_inside_prose_are_not_furniture(text: str) -> None:
    assert _found(text) == []


# -- photo credits and source lines --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "credit"),
    [
        (
            "Vụ tai nạn khiến 2 người bị tử vong (Ảnh: Hội xe tải Tây Bắc) Ngay sau khi sự việc xảy ra, "
            "cảnh sát đã có mặt.",
            "(Ảnh: Hội xe tải Tây Bắc)",
        ),
        ("Lực lượng chính phủ rời khỏi khu vực hôm 31-5. Ảnh: Reuters. Sau đó giao tranh tiếp diễn.", "Ảnh: Reuters."),
        ('Người dân rời khỏi Marawi hôm 31-5. Ảnh: Reuters "Chúng tôi kêu gọi các phần tử còn lại".', "Ảnh: Reuters"),
        ("Quân đội Syria tiến vào Deraa. Ảnh: REUTERS Người hòa giải của LHQ lên tiếng.", "Ảnh: REUTERS"),
        ("Xe khách cháy trơ khung. Ảnh: An Bình Theo nhân chứng, lửa bốc lên từ phía sau xe.", "Ảnh: An Bình"),
        ("Thủ tướng phát biểu tại Ankara. Ảnh: AFP/TTXVN Theo các nguồn tin, cuộc họp kéo dài.", "Ảnh: AFP/TTXVN"),
        ("Nhà máy có 3.000 lao động (ảnh minh họa). Công ty tuyển thêm người.", "(ảnh minh họa)"),
    ],
)
def test_photo_credits_are_found_with_exactly_their_credited_name(text: str, credit: str) -> None:
    assert _found(text) == [(FurnitureKind.PHOTO_CREDIT, credit)]


def test_an_illustration_label_and_its_source_line_are_both_furniture() -> None:
    text = "Ảnh minh họa. Nguồn: Internet. Trung tâm Thông tin chủ trì việc vận hành cổng thông tin."
    assert _found(text) == [
        (FurnitureKind.PHOTO_CREDIT, "Ảnh minh họa."),
        (FurnitureKind.SOURCE_LINE, "Nguồn: Internet."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Ảnh hưởng của bão số 2 khiến nhiều tuyến đường bị ngập.",
        "Hình ảnh: những con đường ngập nước ở Hà Nội được chia sẻ nhiều.",
        "Nguồn vốn: ngân sách tỉnh và vốn xã hội hóa. Dự án khởi công năm 2020.",
        "Anh chụp ảnh: một thói quen mỗi sáng của người dân phố cổ.",
    ],
)
def test_words_about_photos_or_sources_in_prose_are_not_furniture(text: str) -> None:
    assert _found(text) == []


# -- bylines and closing source lines ------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "kind"),
    [
        ("Chí Công", FurnitureKind.BYLINE),
        ("PV", FurnitureKind.BYLINE),
        ("C. Nguyên", FurnitureKind.BYLINE),
        ("NGUYỄN NHÂN (congan.com.vn)", FurnitureKind.BYLINE),
        ("Công Danh (tổng hợp theo báo Thanh Niên, SGGP)", FurnitureKind.BYLINE),
        ("Theo VnExpress", FurnitureKind.SOURCE_LINE),
        ("(Theo An ninh Thế giới)", FurnitureKind.SOURCE_LINE),
        ("Theo Đời sống Plus", FurnitureKind.SOURCE_LINE),
    ],
)
def test_a_name_or_source_after_the_last_sentence_is_a_byline_or_source_line(ending: str, kind: FurnitureKind) -> None:
    text = "Công an tỉnh Bắc Ninh đã khởi tố vụ án. Vụ việc đang được điều tra, làm rõ. " + ending
    assert _found(text) == [(kind, ending)]


def test_a_closing_source_line_paragraph_is_furniture() -> None:
    text = "Hai tỉnh ký biên bản ghi nhớ hợp tác giai đoạn 2020-2025.\n\nTheo Báo Hải Dương"
    assert _found(text) == [(FurnitureKind.SOURCE_LINE, "Theo Báo Hải Dương")]


@pytest.mark.parametrize(
    "text",
    [
        # "Theo …" starting a sentence is prose, wherever it stands
        "Hai tỉnh thống nhất lộ trình. Theo kế hoạch, cầu Đồng Việt sẽ thông xe vào năm 2020.",
        "Hai tỉnh thống nhất lộ trình. Theo kế hoạch, cầu Đồng Việt sẽ thông xe vào năm 2020",
        "Theo Bộ Ngoại giao Nhật Bản, cuộc gặp diễn ra tại Jakarta.\n\nHai bên nhất trí tăng cường hợp tác.",
        # a capitalised name that is not after the last sentence
        "Phóng viên Minh Anh. Hai bên nhất trí tăng cường hợp tác.",
        # the last sentence is ordinary prose
        "Hai bên nhất trí tăng cường hợp tác. Hội nghị kết thúc lúc 17 giờ.",
    ],
)
def test_prose_that_looks_like_a_byline_or_a_source_is_not_furniture(text: str) -> None:
    assert _found(text) == []


def test_the_seed_article_has_no_furniture_left_after_import(seed_article: Article) -> None:
    # The importer already moved "Theo Báo Hải Dương" into `source` and marked the captions.
    assert find_furniture(seed_article.text) == []


# -- sentences -----------------------------------------------------------------------------


def test_a_related_link_is_never_a_sentence_and_the_next_sentence_starts_after_it() -> None:
    text = (
        "Hai bên nhất trí duy trì một trật tự quốc tế cởi mở.  "
        f"{LINK}  Theo Bộ Ngoại giao Nhật Bản, cuộc gặp diễn ra tại Jakarta."
    )
    assert _sentences(text) == [
        "Hai bên nhất trí duy trì một trật tự quốc tế cởi mở.",
        "Theo Bộ Ngoại giao Nhật Bản, cuộc gặp diễn ra tại Jakarta.",
    ]


def test_a_title_run_into_the_next_sentence_is_cut_off_and_the_rest_stays_a_sentence() -> None:
    text = f"Trời nắng nóng trên diện rộng. {LINK} Ở Trung Bộ, Thanh Hóa có mưa rào."
    assert _sentences(text) == ["Trời nắng nóng trên diện rộng.", "Ở Trung Bộ, Thanh Hóa có mưa rào."]


def test_a_credit_inside_a_sentence_is_cut_out_and_the_rest_is_kept() -> None:
    text = (
        "Vụ tai nạn khiến 2 người bị tử vong (Ảnh: Hội xe tải Tây Bắc) Ngay sau khi sự việc xảy ra, "
        "cảnh sát đã có mặt. Ảnh: Reuters. Vụ việc đang được điều tra. Chí Công"
    )
    assert _sentences(text) == [
        "Vụ tai nạn khiến 2 người bị tử vong",
        "Ngay sau khi sự việc xảy ra, cảnh sát đã có mặt.",
        "Vụ việc đang được điều tra.",
    ]
