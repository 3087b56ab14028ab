"""The search analyzer: Vietnamese tokens with and without diacritics, abbreviations, places.

Every document word is indexed twice: as written ("cầu") and folded into a separate
namespace ("~cau"). A query word typed with diacritics matches only the exact form; a word
typed without them matches through the folded namespace. So "cau Dong Viet" finds
"cầu Đồng Việt", while the English "the" never matches the folded "thế" of "thế giới"
in a properly accented query, and English function words are dropped from unaccented ones.

    analyzer = Analyzer()
    analyzer.document_tokens(text)               # what a passage is indexed under
    analyzer.query_tokens("cau Dong Viet o dau")  # what a question searches for
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.vietnamese.text import fold, has_diacritics, nfc, normalise_word

FOLDED = "~"


PAIR = "_"


_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # no "_": it joins pair tokens


# Abbreviations officials type, and what they stand for (both directions are expanded).
ABBREVIATIONS = {
    "ktxh": "kinh tế xã hội",
    "kt-xh": "kinh tế xã hội",
    "hđnd": "hội đồng nhân dân",
    "ubnd": "ủy ban nhân dân",
    "tp": "thành phố",
    "tphcm": "thành phố hồ chí minh",
    "mttq": "mặt trận tổ quốc",
    "đbqh": "đại biểu quốc hội",
    "qh": "quốc hội",
    "bch": "ban chấp hành",
    "btv": "ban thường vụ",
    "gd-đt": "giáo dục đào tạo",
    "nn-ptnt": "nông nghiệp phát triển nông thôn",
    "ptnt": "phát triển nông thôn",
    "gtvt": "giao thông vận tải",
    "vh-tt-dl": "văn hóa thể thao du lịch",
    "khcn": "khoa học công nghệ",
    "fdi": "đầu tư trực tiếp nước ngoài",
}


# Question and function words: they say what is asked, not what about, so they do not
# count when measuring how much of a question a sentence covers.
FUNCTION_WORDS = frozenset(
    """ai gì nào đâu sao bao nhiêu mấy khi thế như là có không được những các của và với ở tại
    trong cho đã sẽ đang này đó thì mà vì bị để từ về theo hay hoặc vậy chưa rồi nhé ạ nữa
    một hai""".split()
)


# Only dropped from queries typed without any diacritics, where they are almost surely English.
_ENGLISH_STOPWORDS = frozenset(
    """the a an of and or to in on at for with by from is are was were be been will would
    which what who whom whose when where why how does do did this that these those it its
    into about as can could should has have had their there they them than then""".split()
)


def _words(text: str) -> list[str]:
    return [normalise_word(w) for w in _WORD.findall(nfc(text))]


#: A question's place names that have related names: (its words, the related names' words), folded.
RelatedPlaces = list[tuple[frozenset[str], tuple[frozenset[str], ...]]]


class QueryForm(enum.StrEnum):
    ACCENTED = "accented"  # Vietnamese typed with diacritics
    UNACCENTED = "unaccented"  # Vietnamese typed without them
    ENGLISH = "english"


class Analyzer:
    """Turns documents and queries into BM25 tokens (see module docstring)."""

    def __init__(self, abbreviations: dict[str, str] | None = None, place_names: bool = True) -> None:
        """``place_names``: a question naming a province also matches its pre-2025 predecessors
        or its 2025 successor (retrieval/vietnamese/admin_units.py), as alternatives and weaker tokens."""
        self.place_names = place_names
        table = ABBREVIATIONS if abbreviations is None else abbreviations
        self._expansions: dict[str, list[str]] = {}
        self._contractions: list[tuple[list[str], str]] = []
        for short, long in table.items():
            short_words = _words(short)
            long_words = _words(long)
            key = "".join(short_words)
            self._expansions[key] = long_words
            self._expansions.setdefault(fold(key), long_words)
            self._contractions.append((long_words, key))

    def word_tokens(self, text: str) -> list[str]:
        """Each word as written and folded, interleaved: ``[w1, ~f1, w2, ~f2, ...]``."""
        tokens: list[str] = []
        for word in _words(text):
            tokens.append(word)
            tokens.append(FOLDED + fold(word))
        return tokens

    def document_tokens(self, text: str) -> list[str]:
        """What BM25 indexes: :meth:`word_tokens` plus adjacent-word pairs, as written and
        folded. Vietnamese words are mostly two syllables, so pairs tell "cầu Đồng Việt"
        from "câu ... đồng ... việt" scattered over a text, above all in folded queries."""
        words = _words(text)
        folded = [fold(w) for w in words]
        pairs = [f"{a}{PAIR}{b}" for a, b in itertools.pairwise(words)]
        folded_pairs = [f"{FOLDED}{a}{PAIR}{b}" for a, b in itertools.pairwise(folded)]
        return self.word_tokens(text) + pairs + folded_pairs

    def _expansion_of(self, word: str) -> list[str] | None:
        return self._expansions.get(word) or self._expansions.get(fold(word))

    def expansions(self, words: Sequence[str]) -> list[str]:
        """Words added for abbreviations in ``words`` and abbreviations of phrases in them."""
        joined = [*words]
        for i in range(len(words) - 1):
            joined.append(words[i] + words[i + 1])  # "kt xh" typed with a space or hyphen
        extra: list[str] = []
        for word in dict.fromkeys(joined):
            extra.extend(self._expansion_of(word) or ())
        folded_words = [fold(w) for w in words]
        for long_words, short in self._contractions:
            if _contains(folded_words, [fold(w) for w in long_words]):
                extra.append(short)
        return list(dict.fromkeys(extra))

    def query_form(self, text: str) -> QueryForm:
        words = _words(text)
        if words and sum(has_diacritics(w) for w in words) / len(words) >= 0.3:
            return QueryForm.ACCENTED
        if words and sum(w in _ENGLISH_STOPWORDS for w in words) / len(words) >= 0.2:
            return QueryForm.ENGLISH
        return QueryForm.UNACCENTED

    def query_terms(self, text: str) -> list[QueryTerm]:
        """The query's own words as tokens, each with its accepted alternatives (an
        abbreviation's expansion), for measuring how much of the question a sentence covers."""
        words = _words(text)
        if not words:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        places = self._place_alternatives(words, accented)
        terms: list[QueryTerm] = []
        for i, word in enumerate(words):
            if has_diacritics(word) or accented:
                token = word  # in an accented query a bare word really has no diacritics
            elif word in _ENGLISH_STOPWORDS:
                continue
            else:
                token = FOLDED + word
            expansion = self._expansion_of(word)
            alternatives = ((tuple(expansion),) if expansion else ()) + places.get(i, ())
            terms.append(QueryTerm(token, alternatives))
        return terms

    def _place_alternatives(self, words: list[str], accented: bool) -> dict[int, tuple[tuple[str, ...], ...]]:
        """Word position -> the related place names (as tokens) that may stand for the place
        name it is part of: "Hải Phòng" in a question is also matched by "Hải Dương"."""
        if not self.place_names:
            return {}
        from retrieval.vietnamese.admin_units import admin_map

        alternatives: dict[int, tuple[tuple[str, ...], ...]] = {}
        for match in admin_map().find_names(words, folded=not accented):
            related = tuple(tuple(w if accented else FOLDED + w for w in name) for name in match.related)
            for i in range(match.start, match.end):
                alternatives[i] = related
        return alternatives

    def related_place_tokens(self, text: str) -> list[str]:
        """BM25 tokens of the place names related to those the question names (the pairs of
        their words, exact or folded as the question was typed), to be weighed below its own."""
        words = _words(text)
        if not words or not self.place_names:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        from retrieval.vietnamese.admin_units import admin_map

        tokens: list[str] = []
        for match in admin_map().find_names(words, folded=not accented):
            for name in match.related:
                names = list(name) if accented else [FOLDED + w for w in name]
                tokens.extend(_pair(a, b) for a, b in itertools.pairwise(names))
        return list(dict.fromkeys(tokens))

    def related_places(self, text: str) -> RelatedPlaces:
        """Each place name in ``text`` that has related names (its predecessors or successor
        after the 2025 reform), as (its words, the related names' words), all folded."""
        words = _words(text)
        if not words or not self.place_names:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        from retrieval.vietnamese.admin_units import admin_map

        return [
            (
                frozenset(fold(w) for w in words[match.start : match.end]),
                tuple(frozenset(fold(w) for w in name) for name in match.related),
            )
            for match in admin_map().find_names(words, folded=not accented)
        ]

    def content_terms(self, text: str) -> list[QueryTerm]:
        """:meth:`query_terms` without question and function words."""
        folded = {FOLDED + fold(w) for w in FUNCTION_WORDS}
        return [t for t in self.query_terms(text) if t.token not in FUNCTION_WORDS and t.token not in folded]

    def query_tokens(self, text: str) -> list[str]:
        tokens = [term.token for term in self.query_terms(text)]
        pairs = [_pair(a, b) for a, b in itertools.pairwise(tokens)]
        # Expansions come from the table, properly accented: match them exactly.
        return tokens + pairs + self.expansions(_words(text))


def _pair(a: str, b: str) -> str:
    """The pair token of two query tokens; folded if either side is."""
    if a.startswith(FOLDED) or b.startswith(FOLDED):
        return f"{FOLDED}{fold(a.removeprefix(FOLDED))}{PAIR}{fold(b.removeprefix(FOLDED))}"
    return f"{a}{PAIR}{b}"


@dataclass(frozen=True)
class QueryTerm:
    token: str
    alternatives: tuple[tuple[str, ...], ...] = ()

    def present_in(self, tokens: set[str] | frozenset[str]) -> bool:
        return self.token in tokens or any(all(t in tokens for t in alt) for alt in self.alternatives)


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(list(words[i : i + n]) == list(phrase) for i in range(len(words) - n + 1))
