"""Vietnamese text primitives: NFC, diacritic folding, slugs and lexical tokens."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    """Unicode NFC; every piece of text entering hoptac passes through here."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics ("Đồng Việt" -> "dong viet")."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


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
