"""Dates in questions: the periods they restrict to, and the wish for the newest news."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from retrieval.vietnamese.question_dates import DateFilter, Period, parse_dates

TODAY = date(2026, 11, 30)
Q1 = (1, 2, 3)


@pytest.mark.parametrize(
    ("question", "periods"),
    [
        ("Năm 2019 hai tỉnh ký gì?", [Period(2019)]),
        ("nam 2019 hai tinh ky gi", [Period(2019)]),
        ("Hai tỉnh ký gì trong năm 2019?", [Period(2019)]),
        ("Hai tỉnh ký gì vào 2019?", [Period(2019)]),
        ("tháng 10/2019 có hội nghị nào?", [Period(2019, (10,))]),
        ("thang 10/2019 co hoi nghi nao", [Period(2019, (10,))]),
        ("Tháng 10 năm 2019 hai tỉnh làm gì?", [Period(2019, (10,))]),
        ("tháng 10-2019", [Period(2019, (10,))]),
        ("trong 10/2019", [Period(2019, (10,))]),
        ("Tháng 3 hai tỉnh ký gì?", [Period(None, (3,))]),
        ("Ngày 5/10/2019 ký kết gì?", [Period(2019, (10,), 5)]),
        ("ngay 05.10.2019 ky ket gi", [Period(2019, (10,), 5)]),
        ("Quý I năm 2020 tăng trưởng bao nhiêu?", [Period(2020, Q1)]),
        ("quy 1/2020 tang truong bao nhieu", [Period(2020, Q1)]),
        ("Quý IV 2019", [Period(2019, (10, 11, 12))]),
        ("quý II", [Period(None, (4, 5, 6))]),
        ("6 tháng đầu năm 2019", [Period(2019, (1, 2, 3, 4, 5, 6))]),
        ("6 thang cuoi nam", [Period(None, (7, 8, 9, 10, 11, 12))]),
        ("Năm nay hai tỉnh hợp tác gì?", [Period(2026)]),
        ("nam ngoai hai tinh hop tac gi", [Period(2025)]),
        ("Năm 2018 và năm 2019", [Period(2018), Period(2019)]),
    ],
)
def test_periods(question: str, periods: list[Period]) -> None:
    when = parse_dates(question, today=TODAY)
    assert list(when.periods) == periods
    assert when.restricts
    assert not when.prefer_recent


@pytest.mark.parametrize(
    "question",
    [
        "Biên bản ghi nhớ giai đoạn 2020-2025 gồm những gì?",
        "bien ban giai doan 2020 - 2025",
        "Quy hoạch đến năm 2030 tầm nhìn 2045 thế nào?",
        "Năm 1879 ai phát minh ra bóng đèn?",
        "Cầu Đồng Việt ở đâu?",
        "Hai tỉnh quy định gì về cầu?",
        "Có 2000 người dự hội nghị không?",
    ],
)
def test_no_period(question: str) -> None:
    assert not parse_dates(question, today=TODAY).restricts


@pytest.mark.parametrize(
    "question",
    [
        "Gần đây hai tỉnh hợp tác gì?",
        "gan day hai tinh hop tac gi",
        "Tin mới nhất về cầu Đồng Việt?",
        "tin moi nhat ve cau Dong Viet",
        "Hiện nay hai tỉnh hợp tác thế nào?",
        "hien nay hai tinh hop tac the nao",
        "Gần đây nhất hai tỉnh ký gì?",
        "Hiện tại dự án ra sao?",
        "Thời gian qua hai tỉnh đã làm gì?",
        "Mới đây hai tỉnh ký gì?",
    ],
)
def test_recent(question: str) -> None:
    when = parse_dates(question, today=TODAY)
    assert when.prefer_recent
    assert not when.restricts


def test_other_words_with_the_same_letters_are_not_recent() -> None:
    assert not parse_dates("Gắn dây điện ở đâu?").prefer_recent
    assert not parse_dates("Mỗi nhà được hỗ trợ bao nhiêu?").prefer_recent
    assert not parse_dates("Quân đội Đức tái xuất hiện tại Rhineland vào khi nào?").prefer_recent
    assert not parse_dates("Dự án được thực hiện nay đã xong chưa?").prefer_recent


def test_without_dates_leaves_the_content_words() -> None:
    question = "Năm 2019 hai tỉnh mới nhất ký gì?"
    when = parse_dates(question, today=TODAY)
    assert when.without_dates(question) == "hai tỉnh ký gì?"
    assert when.without_dates(question, periods=False) == "Năm 2019 hai tỉnh ký gì?"
    plan = "Biên bản giai đoạn 2020-2025 gồm những gì?"
    assert parse_dates(plan).without_dates(plan) == plan


def test_matches() -> None:
    ict = timezone(timedelta(hours=7))
    when = parse_dates("tháng 10/2019", today=TODAY)
    assert when.matches(datetime(2019, 10, 5, 21, 36, tzinfo=ict))
    assert not when.matches(datetime(2019, 11, 1, tzinfo=ict))
    assert not when.matches(None)
    assert DateFilter().matches(None)
    quarter = parse_dates("quý I", today=TODAY)
    assert quarter.matches(date(2024, 2, 29)) and not quarter.matches(date(2024, 4, 1))
