"""The time a question asks about: "năm 2019", "tháng 10/2019", "quý I", "gần đây", "mới nhất".

    when = parse_dates("Năm 2019 hai tỉnh ký kết gì?")
    when.periods                     # (Period(year=2019),)
    when.matches(article.published)  # whether an article's date falls in one of them
    parse_dates("Hiện nay hai tỉnh hợp tác ra sao?").prefer_recent   # True

Typed with or without diacritics ("thang 10/2019", "gan day"). A year that only names a plan's
span ("giai đoạn 2020-2025", "đến năm 2030", "tầm nhìn 2045") is not a publication date.
``spans`` says where the date words are, so a search can leave them out of its word matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from retrieval.vietnamese.text import fold, nfc

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}

#: Words asking for the newest news, accented as written; typed without diacritics they match too.
RECENT_PHRASES = (
    "gần đây nhất",
    "gần đây",
    "gần nhất",
    "mới nhất",
    "mới đây",
    "hiện nay",
    "hiện tại",
    "hiện giờ",
    "bây giờ",
    "vừa qua",
    "vừa rồi",
    "thời gian qua",
    "lúc này",
    "dạo này",
)
#: Syllables that make "hiện" part of another word: "xuất hiện tại" is "appears at", not "now".
_HIEN_WORDS = ("xuat", "the", "thuc", "phat", "bieu", "tai", "hien")

#: Words before a year that make it a plan's horizon or span, not when something was reported.
_NOT_PUBLICATION = ("giai doan", "den nam", "toi nam", "den", "toi", "tam nhin", "nhiem ky", "khoa", "truoc nam")

_YEAR = r"((?:19|20)\d\d)"
_MONTH = r"(1[0-2]|0?[1-9])"
_DAY = r"(3[01]|[12]\d|0?[1-9])"
_SEP = r"\s*[/.\-]\s*"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day", re.compile(rf"\b(?:ngay\s+)?{_DAY}{_SEP}{_MONTH}{_SEP}{_YEAR}\b")),
    ("month", re.compile(rf"\bthang\s+{_MONTH}(?:{_SEP}|\s+(?:nam\s+)?){_YEAR}\b")),
    ("quarter", re.compile(rf"\bquy\s+(iv|iii|ii|i|[1-4])\b(?:(?:{_SEP}|\s+(?:nam\s+)?){_YEAR}\b)?")),
    ("half", re.compile(rf"\b6\s+thang\s+(dau|cuoi)\s+nam(?:\s+{_YEAR}\b)?")),
    ("month", re.compile(rf"(?<![\d/.\-]){_MONTH}/{_YEAR}\b")),
    ("month", re.compile(r"\bthang\s+(1[0-2]|0?[1-9])\b(?!\s*(?:[/.\-]|nam)\s*\d)")),
    ("relative", re.compile(r"\bnam\s+(nay|ngoai|truoc|qua)\b")),
    ("year", re.compile(rf"(?:\bnam\s+)?(?<![\d/.\-]){_YEAR}\b(?!\s*[\-–/]\s*\d)")),
)


@dataclass(frozen=True)
class Period:
    """A span of publication dates: a year, months of a year (or of any year), a day."""

    year: int | None = None
    months: tuple[int, ...] = ()
    day: int | None = None

    def matches(self, published: datetime | date) -> bool:
        if self.year is not None and published.year != self.year:
            return False
        if self.months and published.month not in self.months:
            return False
        return self.day is None or published.day == self.day


@dataclass(frozen=True)
class DateFilter:
    """What a question says about time: periods to restrict to, or a wish for the newest."""

    periods: tuple[Period, ...] = ()
    prefer_recent: bool = False
    #: (start, end) of each phrase in the question that names a period ("năm 2019")...
    period_spans: tuple[tuple[int, int], ...] = ()
    #: ... and of each that asks for the newest ("gần đây").
    recent_spans: tuple[tuple[int, int], ...] = ()

    @property
    def restricts(self) -> bool:
        return bool(self.periods)

    def matches(self, published: datetime | date | None) -> bool:
        """Whether an article published then is of one of the periods (always, without any)."""
        if not self.periods:
            return True
        return published is not None and any(p.matches(published) for p in self.periods)

    def without_dates(self, question: str, periods: bool = True) -> str:
        """The question without its words asking for the newest, and with ``periods`` without
        those naming a period too: for word matching, where a sentence rarely repeats them."""
        text = question
        spans = self.recent_spans + (self.period_spans if periods else ())
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + " " * (end - start) + text[end:]
        return " ".join(text.split())


def _folded(text: str) -> str:
    """``text`` lower-cased without diacritics, one character for one (so offsets carry over)."""
    return "".join((fold(ch) or " ")[0] for ch in text)


def parse_dates(question: str, today: date | None = None) -> DateFilter:
    """The :class:`DateFilter` of a question (see the module docstring)."""
    text = nfc(question)
    folded = _folded(text)
    today = today or date.today()
    taken = [False] * len(text)
    periods: list[Period] = []
    period_spans: list[tuple[int, int]] = []
    recent_spans: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return not any(taken[start:end])

    def take(start: int, end: int, spans: list[tuple[int, int]]) -> None:
        taken[start:end] = [True] * (end - start)
        spans.append((start, end))

    prefer_recent = False
    for phrase in RECENT_PHRASES:
        for match in re.finditer(rf"\b{re.escape(fold(phrase))}\b", folded):
            written = text[match.start() : match.end()].lower()
            if written != phrase and fold(written) != written:
                continue  # typed with other diacritics: another phrase ("gắn dây")
            before = folded[: match.start()].split()
            if phrase.startswith("hiện") and before and before[-1] in _HIEN_WORDS:
                continue  # "xuất hiện tại", "thực hiện nay"
            if free(match.start(), match.end()):
                take(match.start(), match.end(), recent_spans)
                prefer_recent = True

    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(folded):
            if not free(match.start(), match.end()):
                continue
            period = _period(kind, match, today)
            if period is None:
                continue
            if kind == "year" and (_names_a_plan(folded, match.start()) or not _reads_as_a_year(folded, match)):
                continue  # a plan's horizon, or a number: what the question is about, not when it was reported
            take(match.start(), match.end(), period_spans)
            periods.append(period)
    return DateFilter(tuple(dict.fromkeys(periods)), prefer_recent, tuple(sorted(period_spans)), tuple(recent_spans))


def _period(kind: str, match: re.Match[str], today: date) -> Period | None:
    groups = match.groups()
    if kind == "day":
        day, month, year = (int(g) for g in groups)
        return Period(year, (month,), day)
    if kind == "month":
        month = int(groups[0])
        return Period(int(groups[1]) if len(groups) > 1 and groups[1] else None, (month,))
    if kind == "quarter":
        quarter = _ROMAN.get(groups[0]) or int(groups[0])
        months = tuple(range(3 * quarter - 2, 3 * quarter + 1))
        return Period(int(groups[1]) if groups[1] else None, months)
    if kind == "half":
        months = tuple(range(1, 7)) if groups[0] == "dau" else tuple(range(7, 13))
        return Period(int(groups[1]) if groups[1] else None, months)
    if kind == "relative":
        return Period(today.year if groups[0] == "nay" else today.year - 1)
    if kind == "year":
        return Period(int(groups[0]))
    return None


#: Words after which a bare number reads as a year ("vào 2019", "trong 2019").
_YEAR_BEFORE = ("nam", "trong", "vao", "tu", "cuoi", "dau", "giua", "hoi", "va", "hay", "hoac")


def _reads_as_a_year(folded: str, match: re.Match[str]) -> bool:
    """A year after "năm" or one of :data:`_YEAR_BEFORE`, or with nothing after it but
    punctuation; not a count ("2000 người")."""
    if match.group().startswith("nam"):
        return True
    before = folded[: match.start()].split()
    if before and before[-1] in _YEAR_BEFORE:
        return True
    after = folded[match.end() :].strip()
    return not after or not after[0].isalnum()


def _names_a_plan(folded: str, start: int) -> bool:
    """Whether the year at ``start`` closes a span or horizon ("2020-2025", "đến năm 2030")."""
    before = " ".join(folded[max(0, start - 20) : start].split())
    if re.search(r"\d\s*[\-–]\s*$", folded[max(0, start - 4) : start]):
        return True
    before = re.sub(r"\bnam$", "", before).strip()
    return any(before.endswith(words) for words in _NOT_PUBLICATION)
