"""What kind of answer a question expects, and whether a sentence offers one (classic QA typing).

The question word tells the expected answer: "bao nhiêu" / "how many" asks for a number,
"khi nào" / "năm nào" / "when" for a time, "ai" / "who" for a person, "ở đâu" / "where" for a
place. A sentence that answers holds a token of that type which the question does not
already contain (the answer is new information): a number, a year or century, or a
capitalised name.

    kind = expected_answer(question)                  # AnswerType.NUMBER, ... or None
    offers_answer(kind, sentence, question_words(question))

Vietnamese question words match as written or, typed without diacritics, through their
folded form ("bao nhieu", "khi nao"); English ones ("how many", "when", "who", "where") only
in questions that are not Vietnamese with diacritics. After a negation a question word
makes a statement ("chưa bao giờ", never; "không ai", nobody) and does not count. The
answering module weighs :func:`offers_answer` in its sentence score (retrieval/answering/sentence_choice.py).
"""

from __future__ import annotations

import enum
import functools
import re

from retrieval.vietnamese.text import fold, has_diacritics, nfc


class AnswerType(enum.StrEnum):
    NUMBER = "number"
    TIME = "time"
    PERSON = "person"
    PLACE = "place"


# Question phrases by type, tried in this order: the first type with a phrase in the question
# decides ("năm bao nhiêu" is a year before "bao nhiêu" is a number). Vietnamese phrases are
# written with diacritics and also match typed without them, except those in _EXACT_ONLY;
# English ones are tried only when the question is not Vietnamese with diacritics (a
# Vietnamese question may name "Doctor Who").
_VIETNAMESE: tuple[tuple[AnswerType, tuple[str, ...]], ...] = (
    (
        AnswerType.TIME,
        (
            "khi nào", "lúc nào", "bao giờ", "hồi nào", "năm nào", "năm bao nhiêu", "năm mấy",
            "ngày nào", "tháng nào", "thời gian nào", "thời điểm nào", "thời kỳ nào", "giai đoạn nào",
            "thế kỷ nào", "thế kỉ nào", "thế kỷ thứ mấy", "thập niên nào", "thập kỷ nào",
        ),
    ),
    (AnswerType.NUMBER, ("bao nhiêu", "mấy", "bao lâu", "bao xa")),
    (
        AnswerType.PLACE,
        (
            "ở đâu", "tại đâu", "từ đâu", "đến đâu", "nơi nào", "chỗ nào", "địa điểm nào",
            "thành phố nào", "quốc gia nào", "nước nào", "tỉnh nào",
        ),
    ),
    (AnswerType.PERSON, ("ai", "người nào", "vị nào")),
)  # fmt: skip
_ENGLISH: tuple[tuple[AnswerType, tuple[str, ...]], ...] = (
    (
        AnswerType.TIME,
        (
            "when", "what year", "which year", "what date", "what century", "which century",
            "what decade", "what time",
        ),
    ),
    (
        AnswerType.NUMBER,
        (
            "how many", "how much", "how long", "how old", "how far", "how large", "how big",
            "what percentage", "what percent",
        ),
    ),
    (AnswerType.PLACE, ("where", "what city", "which city", "what country", "which country")),
    (AnswerType.PERSON, ("who", "whom", "whose")),
)  # fmt: skip
#: Too ambiguous without diacritics ("may" is also "máy", a machine, and English "may").
_EXACT_ONLY = frozenset({"mấy"})
#: After these a question word is a statement: "chưa bao giờ" (never), "không ai" (nobody).
_NEGATIONS = frozenset({"chưa", "không", "chẳng"})

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DIGIT = re.compile(r"\d")
_ROMAN = re.compile(r"^[ivxlc]+$")
_YEAR = re.compile(r"^(1\d{3}|20\d{2}|\d{3})$")
#: Number words (digits are numbers anyway). "năm" (five, and year) and "một" (one, and "a")
#: are left out: too often not a number.
NUMBER_WORDS = frozenset(
    """hai ba bốn tư sáu bảy tám chín mười mươi chục trăm nghìn ngàn vạn triệu tỷ tỉ nửa rưỡi
    two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty
    hundred thousand million billion half dozen""".split()
)
#: Words after which a number or Roman numeral is a time: "năm 1685", "thế kỷ XIX", "tháng 3".
TIME_WORDS = frozenset("năm thế kỷ kỉ thập niên tháng ngày quý mùa century year decade".split())
_MONTHS = frozenset("january february march april june july august september october november december".split())


def _tokens(text: str) -> list[str]:
    return _WORD.findall(nfc(text))


@functools.lru_cache(maxsize=1 << 14)
def _matches(word: str, expected: str) -> bool:
    """``word`` of a question is ``expected``, or is it typed without diacritics."""
    if word == expected:
        return True
    return expected not in _EXACT_ONLY and not has_diacritics(word) and word == fold(expected)


def _occurs(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    for start in range(len(words) - n + 1):
        if start and any(_matches(words[start - 1], negation) for negation in _NEGATIONS):
            continue
        if all(_matches(words[start + k], phrase[k]) for k in range(n)):
            return True
    return False


def _split(table: tuple[tuple[AnswerType, tuple[str, ...]], ...]) -> list[tuple[AnswerType, list[list[str]]]]:
    return [(kind, [phrase.split() for phrase in phrases]) for kind, phrases in table]


_VIETNAMESE_PHRASES = _split(_VIETNAMESE)
_ENGLISH_PHRASES = _split(_ENGLISH)
#: Share of words with diacritics from which a question is Vietnamese typed with them.
ACCENTED_SHARE = 0.3


@functools.lru_cache(maxsize=4096)
def expected_answer(question: str) -> AnswerType | None:
    """The type of answer ``question`` asks for, or None when its question word says nothing
    (cached: a question is typed several times on its way to an answer)."""
    words = [w.lower() for w in _tokens(question)]
    if not words:
        return None
    accented = sum(has_diacritics(w) for w in words) / len(words) >= ACCENTED_SHARE
    tables = _VIETNAMESE_PHRASES if accented else _VIETNAMESE_PHRASES + _ENGLISH_PHRASES
    for kind, phrases in tables:
        if any(_occurs(words, phrase) for phrase in phrases):
            return kind
    return None


def question_words(question: str) -> frozenset[str]:
    """The question's words, lower-cased and folded, to tell new tokens in a sentence from given ones."""
    return frozenset(fold(w) for w in _tokens(question))


def _is_number(word: str) -> bool:
    return bool(_DIGIT.search(word)) or word.lower() in NUMBER_WORDS


def _is_time(words: list[str], i: int) -> bool:
    word = words[i]
    lower = word.lower()
    if _YEAR.match(lower) or lower in _MONTHS:
        return True
    if i and words[i - 1].lower() in TIME_WORDS:
        return bool(_DIGIT.search(word)) or bool(_ROMAN.match(lower)) or lower in NUMBER_WORDS
    return False


def _is_name(words: list[str], i: int) -> bool:
    word = words[i]
    return i > 0 and word[:1].isupper() and not _DIGIT.search(word)


def offers_answer(kind: AnswerType | None, sentence: str, given: frozenset[str]) -> bool:
    """Whether ``sentence`` holds a token of type ``kind`` that is not among ``given`` (the
    question's words, see :func:`question_words`); False when ``kind`` is None."""
    return kind is not None and _offers(kind, _tokens(sentence), given)


def _offers(kind: AnswerType, words: list[str], given: frozenset[str]) -> bool:
    for i, word in enumerate(words):
        if fold(word) in given:
            continue
        if kind == AnswerType.NUMBER and _is_number(word):
            return True
        if kind == AnswerType.TIME and _is_time(words, i):
            return True
        if kind in (AnswerType.PERSON, AnswerType.PLACE) and _is_name(words, i):
            return True
    return False


#: Words after which a name or a place word is where something is or happens: "tại TP Chí
#: Linh", "ở huyện Yên Dũng", "in Paris". ("về", "ra", "sang" are left out: "về công tác",
#: "ra mắt" are too often no place.)
LOCATIVES = frozenset(
    """tại ở trong trên từ đến tới vào thuộc gần quanh giữa bên khắp ngoài qua
    in at near from into inside across throughout""".split()
)
#: Nouns that name a kind of place, after which a word is a place name even in lower case
#: in a question typed without diacritics: "tỉnh Bắc Giang", "thành phố", "sân vận động".
PLACE_WORDS = frozenset(
    """tp thành phố tỉnh huyện quận xã phường thị trấn thủ đô nước quốc gia vùng miền khu làng thôn
    bản ấp đảo sông núi hồ biển vịnh châu bang đường phố cầu sân trường viện chợ cảng thành
    trung tâm phía bắc nam đông tây khu vực địa bàn ngoại ô bờ lưu
    city province town village country region state island river""".split()
)
#: How many words after a locative its place name may start.
LOCATIVE_REACH = 4


def _locative_place(words: list[str], given: frozenset[str]) -> bool:
    """Whether a locative word is followed, within :data:`LOCATIVE_REACH` words, by a new name
    (capitalised, not among ``given``) or a kind of place followed by one."""
    for i, word in enumerate(words):
        if word.lower() not in LOCATIVES:
            continue
        for j in range(i + 1, min(i + 1 + LOCATIVE_REACH, len(words))):
            follower = words[j]
            if follower[:1].isupper() and fold(follower) not in given and not _DIGIT.search(follower):
                return True
            if follower.lower() not in PLACE_WORDS:
                break
    return False


#: A day written as news writes it: "Chiều 5.10", "ngày 12/3", "sáng 1-7".
_DAY_OF_MONTH = re.compile(r"\b(?:sáng|trưa|chiều|tối|đêm|ngày|hôm)\s+\d{1,2}[./-]\d{1,2}\b", re.IGNORECASE)


def answer_type_evidence(kind: AnswerType | None, sentence: str, given: frozenset[str]) -> float:
    """How strongly ``sentence`` offers the kind of answer asked for, in [0, 1] (the answer
    selector's sentence feature; without it :func:`offers_answer` counts).

    As :func:`offers_answer`, and a time may be a day of the month as news writes it ("Chiều
    5.10"); but a place is sure (1.0) only where a locative introduces a new name ("tại TP
    Chí Linh"); a new name alone may be a person or an organisation (0.5). Nearly every news
    sentence names someone, so for "ở đâu" a bare name says little."""
    if kind == AnswerType.TIME and _DAY_OF_MONTH.search(nfc(sentence)):
        return 1.0
    if kind is None:
        return 0.0
    words = _tokens(sentence)
    if not _offers(kind, words, given):
        return 0.0
    if kind != AnswerType.PLACE:
        return 1.0
    return 1.0 if _locative_place(words, given) else 0.5
