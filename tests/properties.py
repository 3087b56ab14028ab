"""What the property-based tests (hypothesis) share: deterministic settings and Vietnamese text.

Every property test runs with :func:`fast` settings: a fixed number of examples, derandomized
(the same examples on every run, so CI never flakes) and no example database on disk.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fast(max_examples: int) -> settings:
    """Settings for a property that must run in well under a second or two: ``max_examples``
    examples, the same ones every run; no deadline, since the first call may warm caches."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: Letters of Vietnamese news prose, precomposed; combining marks are added separately so a
#: text can be NFC, NFD or a mix (as pasted from other editors).
_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYáàảãạấầẩẫậếềểễệốồổỗộớờởỡợứừửữựíìỉĩịýỳỷỹỵ"
_COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
_PUNCTUATION = ".,;:!?…-–\"'“”‘’«»()[]/%&<>"
_WORDS = (
    "TP.",
    "TS.",
    "Th.S.",
    "UBND",
    "HĐND",
    "KTXH",
    "5.10",
    "2020-2025",
    "Hải Dương",
    "Bắc Giang",
    "cầu Đồng Việt",
    "(Ảnh: Hồng Nhung)",
    "Theo Báo Hải Dương",
    "[Hai tỉnh ký kết hợp tác]",
    "Xem với cỡ chữ",
    "...",
    "> ",
)


_SYLLABLES = "hợp tác Hải Dương Bắc Giang tỉnh ủy phối hợp dự án cầu Đồng Việt năm ngày Thủy Nước".split()
_TOKENS = (
    *_LETTERS,
    *_SYLLABLES,
    *_COMBINING,
    *_PUNCTUATION,
    *_WORDS,
    *(" ", " ", " ", " ", "\n", "\n\n", "\t", "\u00a0", "\r\n"),
    *("0", "7", "19", "2019", "05/10/2019"),
)

_CHARACTERS = sorted({character for token in _TOKENS for character in token})


def vietnamese_text(max_size: int = 300) -> st.SearchStrategy[str]:
    """Text that looks like Vietnamese news (letters, combining marks, punctuation,
    abbreviations, captions, line and paragraph breaks), in NFC, NFD or as generated."""
    # Runs of characters with whole tokens between them: cheaper to draw than token by token.
    run = st.text(alphabet=st.sampled_from(_CHARACTERS) | st.characters(codec="utf-8"), max_size=40)
    text = st.lists(run | st.sampled_from(_TOKENS), max_size=max(1, max_size // 20)).map("".join)
    return st.tuples(text, st.sampled_from([None, "NFC", "NFD"])).map(
        lambda pair: pair[0] if pair[1] is None else unicodedata.normalize(pair[1], pair[0])
    )


def is_one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message and "\r" not in message
