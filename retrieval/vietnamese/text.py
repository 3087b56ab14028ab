"""Vietnamese text primitives: NFC, diacritic folding, slugs and lexical tokens."""

from __future__ import annotations

import functools
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    """Unicode NFC; every piece of text entering hoptac passes through here."""
    return unicodedata.normalize("NFC", text)


#: Words up to this long are folded through a cache: Vietnamese has a few thousand
#: syllables, and a question's answer checks and a build's tokens fold them again and again.
_CACHED_FOLD_CHARS = 32


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics ("Đồng Việt" -> "dong viet")."""
    return _fold_word(text) if len(text) <= _CACHED_FOLD_CHARS else _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


_fold_word = functools.lru_cache(maxsize=1 << 16)(_fold)


def has_diacritics(word: str) -> bool:
    return fold(word) != word.lower()


def slugify(text: str, max_length: int = 60) -> str:
    """ASCII slug for ids and file names: "Hải Dương - Bắc Giang" -> "hai-duong-bac-giang"."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(nfc(text))).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), NFC."""
    return _WORD.findall(nfc(text).lower())


# Old-style tone placement ("hoá", "uỷ") and new style ("hóa", "ủy") are the same word.
_OLD_TONES = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}  # fmt: skip


def normalise_word(word: str) -> str:
    """Lower-case, NFC, new-style tone placement."""
    word = nfc(word.lower())
    tail = word[-2:]
    if tail in _OLD_TONES and not (tail[0] == "u" and word[-3:-2] == "q"):
        word = word[:-2] + _OLD_TONES[tail]
    return word
