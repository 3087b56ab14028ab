"""Question typing and answer-type evidence in sentences (retrieval/vietnamese/answer_types.py)."""

from __future__ import annotations

import pytest

from retrieval.vietnamese.answer_types import (
    AnswerType,
    answer_type_evidence,
    expected_answer,
    offers_answer,
    question_words,
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Có bao nhiêu loài sứa lược?", AnswerType.NUMBER),
        ("co bao nhieu loai sua luoc", AnswerType.NUMBER),
        ("Kenya xếp thứ mấy?", AnswerType.NUMBER),
        ("How many species are there?", AnswerType.NUMBER),
        ("Sắc lệnh được tuyên bố khi nào?", AnswerType.TIME),
        ("sac lenh duoc tuyen bo khi nao", AnswerType.TIME),
        ("Trường được xây vào năm bao nhiêu?", AnswerType.TIME),  # a year, not just a number
        ("bien ban ghi nho hop tac giai doan nao", AnswerType.TIME),
        ("When was the decree issued?", AnswerType.TIME),
        ("What year was the school built?", AnswerType.TIME),
        ("Ai hát quốc ca?", AnswerType.PERSON),
        ("ai hat quoc ca", AnswerType.PERSON),
        ("Who sang the anthem?", AnswerType.PERSON),
        ("Sân vận động nằm ở đâu?", AnswerType.PLACE),
        ("cau Dong Viet o dau", AnswerType.PLACE),
        ("Where is the stadium?", AnswerType.PLACE),
        ("Những sợi lông trên sứa lược được gọi là gì?", None),
        ("Doctor Who là gì?", None),  # "Who" in a Vietnamese question is a name, not a question word
        ("may bay cat canh luc nay", None),  # "may" typed without diacritics is not "mấy"
        ("Vì sao chưa bao giờ có mưa ở đây?", None),  # "chưa bao giờ" is "never"
        ("Ai nói rằng không ai đến?", AnswerType.PERSON),
        ("", None),
    ],
)
def test_the_question_word_tells_the_expected_answer(question: str, kind: AnswerType | None) -> None:
    assert expected_answer(question) == kind


def test_a_number_counts_only_when_the_question_does_not_hold_it() -> None:
    given = question_words("Năm 2012 có bao nhiêu hội đồng?")
    assert offers_answer(AnswerType.NUMBER, "Năm 2012 có 30 hội đồng.", given)
    assert offers_answer(AnswerType.NUMBER, "Có ba hội đồng.", given)  # a number word
    assert not offers_answer(AnswerType.NUMBER, "Năm 2012 hội đồng họp.", given)


def test_times_are_years_centuries_and_dated_numbers() -> None:
    given = question_words("Sắc lệnh được tuyên bố khi nào?")
    assert offers_answer(AnswerType.TIME, "Sắc lệnh được tuyên bố năm 1685.", given)
    assert offers_answer(AnswerType.TIME, "Các trường được lập vào thế kỷ XIX.", given)
    assert offers_answer(AnswerType.TIME, "Sắc lệnh có hiệu lực từ tháng 3.", given)
    assert not offers_answer(AnswerType.TIME, "Sắc lệnh được nhiều người ủng hộ.", given)


def test_names_are_new_capitalised_words_after_the_first() -> None:
    given = question_words("Ai thành lập McKinsey & Company?")
    assert offers_answer(AnswerType.PERSON, "Công ty do James O. McKinsey thành lập.", given)
    assert not offers_answer(AnswerType.PERSON, "McKinsey & Company được thành lập sớm.", given)
    assert not offers_answer(AnswerType.PERSON, "Công ty được thành lập sớm.", given)  # first word only


def test_an_untyped_question_finds_no_answer_type() -> None:
    assert not offers_answer(None, "Có 30 hội đồng ở Hà Nội.", question_words("Hội đồng là gì?"))


def test_a_place_is_sure_only_where_a_locative_introduces_a_new_name() -> None:
    given = question_words("Hoi nghi to chuc o dau")
    chi_linh = "Chiều 5.10, tại TP Chí Linh, các đồng chí chủ trì hội nghị."
    assert answer_type_evidence(AnswerType.PLACE, chi_linh, given) == 1.0
    assert answer_type_evidence(AnswerType.PLACE, "Trụ sở đặt ở trung tâm Hà Nội.", given) == 1.0
    assert answer_type_evidence(AnswerType.PLACE, "The plant was built in Dresden.", given) == 1.0
    # Names without a locative may be people or organisations: half sure.
    assert answer_type_evidence(AnswerType.PLACE, "Hải Dương và Bắc Giang sẽ đẩy mạnh trao đổi.", given) == 0.5
    # A locative before a name the question already gives offers no new place.
    asked = question_words("Ở Hải Dương, hội nghị tổ chức ở đâu?")
    assert answer_type_evidence(AnswerType.PLACE, "Hội nghị được tổ chức tại Hải Dương.", asked) == 0.0
    assert answer_type_evidence(AnswerType.PLACE, "Hội nghị bàn về công tác xây dựng.", given) == 0.0


def test_other_kinds_of_answer_are_sure_where_offered() -> None:
    given = question_words("Năm 2012 có bao nhiêu hội đồng?")
    assert answer_type_evidence(AnswerType.NUMBER, "Năm 2012 có 30 hội đồng.", given) == 1.0
    assert answer_type_evidence(AnswerType.NUMBER, "Năm 2012 hội đồng họp.", given) == 0.0
    assert answer_type_evidence(None, "Có 30 hội đồng ở Hà Nội.", given) == 0.0


def test_a_day_of_the_month_as_news_writes_it_is_a_time() -> None:
    given = question_words("Hội nghị diễn ra khi nào?")
    assert answer_type_evidence(AnswerType.TIME, "Chiều 5.10, tại TP Chí Linh, hội nghị diễn ra.", given) == 1.0
    assert answer_type_evidence(AnswerType.TIME, "Hội nghị diễn ra ngày 12/3.", given) == 1.0
    assert answer_type_evidence(AnswerType.TIME, "Hội nghị có 5.10 phần trăm đại biểu.", given) == 0.0
