"""Subscriptions by place and topic: reading what a chat asked for, saying it back in
Vietnamese, and deciding which chats a new article is for.

    request = read_filter("hai phong")        # the 2025 unit TP Hải Phòng (diacritics optional)
    request = read_filter("Hải Dương")        # the same, named through the province it took in
    request = read_filter("du lịch")          # a keyword: a word or phrase that is not a place
    describe(request.filter)                  # "TP Hải Phòng (gồm cả tỉnh Hải Dương cũ)"
    audience_of(new_articles, subscriptions.audience())   # {article id: [chat ids]}

A place is one of the 34 province-level units of the 2025 map; an article is about it when
its title or text names it, one of the provinces it took in, or a district of those named
with its type ("huyện Yên Dũng"): :meth:`retrieval.vietnamese.admin_units.AdminMap.successors_named`,
from the ``vietnamadminunits`` package, never a hand-typed table. A keyword matches an
article whose title or text holds its words in a row, as typed; typed without diacritics
("du lich") it matches with or without them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from markup import catalogue as words
from retrieval.models import Article
from retrieval.vietnamese.admin_units import Province, admin_map, words_of
from retrieval.vietnamese.text import fold, has_diacritics
from storage.records import EVERYTHING, FilterKind, SubscriptionFilter

#: Longest keyword a chat may subscribe to, in characters.
KEYWORD_MAX_CHARS = 60
#: What asks for every new article, besides nothing at all (folded words).
_EVERYTHING_WORDS = {("tat", "ca"), ("moi", "bai"), ("all",)}


@dataclass(frozen=True)
class FilterRequest:
    """A filter read from what a user typed; ``named`` the pre-2025 province they typed, when
    the filter is its 2025 successor's ("Hải Dương" -> TP Hải Phòng)."""

    filter: SubscriptionFilter
    named: Province | None = None


def read_filter(text: str) -> FilterRequest | None:
    """What ``/subscribe text`` asks for: everything ("" or "tất cả"), a place, or a
    keyword; None when ``text`` has no letter or digit, or is longer than a keyword may be."""
    words = words_of(text)
    if not words or tuple(fold(w) for w in words) in _EVERYTHING_WORDS:
        return FilterRequest(EVERYTHING) if not text.strip() or words else None
    province = admin_map().province_named(text)
    if province is not None:
        place = SubscriptionFilter(FilterKind.PLACE, province.successor)
        return FilterRequest(place, province if province.merged else None)
    keyword = " ".join(words)
    if len(keyword) > KEYWORD_MAX_CHARS:
        return None
    return FilterRequest(SubscriptionFilter(FilterKind.KEYWORD, keyword))


def describe(what: SubscriptionFilter) -> str:
    """The filter in words, for the user (plain text: escape it for HTML)."""
    if what.kind is FilterKind.PLACE:
        names = admin_map()
        unit = names.provinces.get(what.value)
        if unit is None:  # a place the package no longer knows
            return what.value
        others = [names.provinces[p] for p in names.predecessors.get(what.value, []) if p != what.value]
        if not others:
            return unit.now
        return words.PLACE_WITH_FORMER.say(place=unit.now, former=", ".join(f"{p.kind} {p.name}" for p in others))
    if what.kind is FilterKind.KEYWORD:
        return words.TOPIC.say(keyword=what.value)
    return words.EVERY_NEW_ARTICLE.say()


class ArticleSubjects:
    """What one article is about, worked out only as far as a filter asks."""

    def __init__(self, article: Article) -> None:
        self._text = f"{article.title}\n{article.text}"

    @functools.cached_property
    def places(self) -> set[str]:
        """The 2025 province-level units it names, directly or through a unit they took in."""
        return admin_map().successors_named(self._text)

    @functools.cached_property
    def _words(self) -> str:
        return " " + " ".join(words_of(self._text)) + " "

    @functools.cached_property
    def _folded_words(self) -> str:
        return fold(self._words)

    def matches(self, what: SubscriptionFilter) -> bool:
        if what.kind is FilterKind.PLACE:
            return what.value in self.places
        if what.kind is FilterKind.KEYWORD:
            if any(has_diacritics(word) for word in what.value.split()):
                return f" {what.value} " in self._words
            return f" {fold(what.value)} " in self._folded_words
        return True


def audience_of(articles: Iterable[Article], chats: Mapping[int, Sequence[SubscriptionFilter]]) -> dict[str, list[int]]:
    """Each article's id -> the chats (of ``chats``: chat id -> its filters) that one of
    their filters says should hear of it; each chat once, however many filters match."""
    audience: dict[str, list[int]] = {}
    for article in articles:
        subjects = ArticleSubjects(article)
        audience[article.id] = [chat for chat, filters in chats.items() if any(subjects.matches(f) for f in filters)]
    return audience
