"""The 2025 administrative map: read from vietnamadminunits, looked up both ways, in news text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from retrieval.vietnamese.admin_units import REFORM_DATE, admin_map, unit_notes, words_of
from retrieval.vietnamese.analyzer import FOLDED, Analyzer
from retrieval.vietnamese.text import fold

BEFORE = datetime(2019, 10, 5, 21, 36, tzinfo=timezone(timedelta(hours=7)))


def _names(words: list[tuple[str, ...]]) -> set[str]:
    return {" ".join(w) for w in words}


def test_the_map_has_63_old_and_34_new_provincial_units() -> None:
    names = admin_map()
    assert len(names.provinces) == 63
    assert len(names.predecessors) == 34
    assert names.provinces["Hải Dương"].successor == "Hải Phòng"
    assert names.provinces["Hải Dương"].now == "TP Hải Phòng"
    assert names.provinces["Bắc Giang"].now == "tỉnh Bắc Ninh"
    assert not names.provinces["Quảng Ninh"].merged


@pytest.mark.parametrize(
    ("name", "related"),
    [
        ("Hải Phòng", {"hải dương"}),  # 2025 unit -> its predecessors
        ("Bắc Ninh", {"bắc giang"}),
        ("Hải Dương", {"hải phòng"}),  # merged unit -> its successor
        ("Bắc Giang", {"bắc ninh"}),
        ("Ninh Bình", {"hà nam", "nam định"}),
        ("Hà Nam", {"ninh bình"}),
        ("Quảng Ninh", set()),  # unchanged: nothing to add
    ],
)
def test_related_names_go_both_ways(name: str, related: set[str]) -> None:
    assert _names(admin_map().related_names(tuple(words_of(name)))) == related


@pytest.mark.parametrize(
    ("question", "folded"),
    [
        ("Hải Phòng và Bắc Ninh đã ký kết hợp tác những gì?", False),
        ("Hai Phong va Bac Ninh da ky ket hop tac nhung gi", True),
        ("HẢI PHÒNG VÀ BẮC NINH", False),
    ],
)
def test_names_are_found_in_questions_with_and_without_diacritics(question: str, folded: bool) -> None:
    words = words_of(question)
    matches = admin_map().find_names(words, folded=folded)
    assert [" ".join(words[m.start : m.end]).lower() for m in matches] == [
        ("hai phong" if folded else "hải phòng"),
        ("bac ninh" if folded else "bắc ninh"),
    ]
    related = [_names(list(m.related)) for m in matches]
    expected = [{"hải dương"}, {"bắc giang"}]
    assert related == ([{fold(n) for n in r} for r in expected] if folded else expected)


def test_the_pacific_is_not_thai_binh_nor_binh_duong() -> None:
    words = words_of("Thái Bình Dương rộng bao nhiêu?")
    assert admin_map().find_names(words) == []
    assert admin_map().find_names([fold(w) for w in words], folded=True) == []
    assert admin_map().mentions("tàu vượt Thái Bình Dương") == []


def test_the_analyzer_accepts_the_old_names_for_the_new_ones() -> None:
    analyzer = Analyzer()
    terms = {t.token: t for t in analyzer.content_terms("Hải Phòng và Bắc Ninh đã ký kết hợp tác những gì?")}
    sentence = set(analyzer.word_tokens("Hải Dương - Bắc Giang ký kết biên bản ghi nhớ hợp tác"))
    assert all(terms[t].present_in(sentence) for t in ("hải", "phòng", "bắc", "ninh", "ký", "hợp"))
    assert analyzer.related_place_tokens("Hải Phòng và Bắc Ninh") == ["hải_dương", "bắc_giang"]
    assert analyzer.related_place_tokens("Hai Phong va Bac Ninh") == [f"{FOLDED}hai_duong", f"{FOLDED}bac_giang"]
    unaccented = {t.token: t for t in analyzer.content_terms("Hai Phong va Bac Ninh da ky ket gi")}
    assert unaccented[f"{FOLDED}ninh"].present_in(sentence)
    assert Analyzer(place_names=False).related_place_tokens("Hải Phòng và Bắc Ninh") == []


def test_mentions_in_news_text_province_context_wins() -> None:
    text = (
        "dự án cầu Đồng Việt qua sông Thái Bình giữa huyện Yên Dũng (Bắc Giang) và TP Chí Linh (Hải Dương); "
        "Bí thư Tỉnh ủy Hải Dương; tỉnh Thái Bình; TP Hải Phòng; thị xã Kinh Môn"
    )
    found = [(text[m.start : m.end], m.note()) for m in admin_map().mentions(text)]
    assert found == [
        ("huyện Yên Dũng", "huyện Yên Dũng nay thuộc tỉnh Bắc Ninh"),  # merged into TP Bắc Giang before 2025
        ("Bắc Giang", "Bắc Giang nay thuộc tỉnh Bắc Ninh"),
        ("TP Chí Linh", "TP Chí Linh nay thuộc TP Hải Phòng"),
        ("Hải Dương", "Hải Dương nay thuộc TP Hải Phòng"),
        ("Hải Dương", "Hải Dương nay thuộc TP Hải Phòng"),
        ("tỉnh Thái Bình", "Thái Bình nay thuộc tỉnh Hưng Yên"),  # "sông Thái Bình" is the river
        ("thị xã Kinh Môn", "thị xã Kinh Môn nay thuộc TP Hải Phòng"),
    ]


def test_the_ward_name_trap() -> None:
    # The package reads "Hải Dương" alone as the 2025 ward Phường Hải Dương; in news text a
    # bare name is the province, and "phường Hải Dương" is the ward (a 2025 unit: no note).
    assert [m.note() for m in admin_map().mentions("Hải Dương")] == ["Hải Dương nay thuộc TP Hải Phòng"]
    assert admin_map().mentions("phường Hải Dương, TP Hải Phòng") == []
    assert [m.note() for m in admin_map().mentions("TP Hải Dương")] == ["TP Hải Dương nay thuộc TP Hải Phòng"]


def test_notes_only_for_articles_from_before_the_reform() -> None:
    sentence = "Hải Dương và Bắc Giang sẽ đẩy mạnh hoạt động trao đổi; Hải Dương cũng vậy."
    assert unit_notes(sentence, BEFORE) == (
        "Hải Dương nay thuộc TP Hải Phòng",
        "Bắc Giang nay thuộc tỉnh Bắc Ninh",
    )
    assert unit_notes(sentence, REFORM_DATE) == ()
    assert unit_notes(sentence, None) == ()
    assert unit_notes(sentence, datetime(2019, 1, 1)) != ()  # a naive date counts as UTC
    assert unit_notes("Hà Nội và Quảng Ninh hợp tác", BEFORE) == ()
    assert unit_notes("Hải Dương", REFORM_DATE - timedelta(seconds=1)) and REFORM_DATE.tzinfo is UTC


#: Real sentences of news-vi (Báo Mới, 2017) naming district-level units abolished in 2025
#: in provinces that kept their names.
CUA_LO = (
    "Trưa nay, mạng xã hội chia sẻ thông tin về vụ việc một phụ nữ có hành vi bắt cóc trẻ em "
    "tại thị xã Cửa Lò (Nghệ An)."
)
NGHI_XUAN = (
    "Đến ngày 14-5, Toàn trở về nhà lấy xe máy ra bãi biển Xuân Thành (huyện Nghi Xuân, Hà Tĩnh) "
    "chở bạn gái sang TP Vinh dạo phố và dùng ma túy đá."
)
TAM_DIEP = "Anh ta bỏ trốn về TP Tam Điệp (Ninh Bình) lập công ty vệ sĩ và đứng danh giám đốc."


def test_an_abolished_district_gets_its_note_also_where_its_province_kept_its_name() -> None:
    before = datetime(2017, 6, 13, tzinfo=UTC)
    # Cửa Lò was merged into TP Vinh in April 2025: only its province is named.
    assert unit_notes(CUA_LO, before) == ("thị xã Cửa Lò nay thuộc tỉnh Nghệ An",)
    # Few 2025 wards and communes took in Nghi Xuân and Tam Điệp: the package's converter names them.
    assert unit_notes(NGHI_XUAN, before) == (
        "huyện Nghi Xuân nay thuộc tỉnh Hà Tĩnh: phường Bắc Hồng Lĩnh và các xã Cổ Đạm, Đan Hải, Nghi Xuân, Tiên Điền",
        "TP Vinh nay thuộc tỉnh Nghệ An",
    )
    assert unit_notes(TAM_DIEP, before) == (
        "TP Tam Điệp nay thuộc tỉnh Ninh Bình: các phường Tam Điệp, Trung Sơn, Yên Sơn, Yên Thắng",
    )
    assert unit_notes("Sáng 12.3, tại TP Ninh Bình, hai tỉnh ký kết chương trình hợp tác.", before) == (
        "TP Ninh Bình nay thuộc tỉnh Ninh Bình",
    )
    assert unit_notes("Dự án cầu qua huyện Yên Dũng.", before) == ("huyện Yên Dũng nay thuộc tỉnh Bắc Ninh",)
    for sentence in (CUA_LO, NGHI_XUAN, TAM_DIEP):
        assert unit_notes(sentence, REFORM_DATE) == ()
        assert all("(" not in note for note in unit_notes(sentence, before))  # one plain line each
