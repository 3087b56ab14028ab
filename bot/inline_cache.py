"""The answers inline queries got, by query, for a while (:mod:`bot.inline`).

    cache = InlineAnswerCache()
    pending = cache.get("Hải Dương hợp tác gì?")      # None, or an answer (maybe still being made)
    cache.put(query, future)                           # identical queries now wait on it

Per replica and in memory: it only spares the engine work; what must survive a replica
(the answer pages the results open) is in the state store.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineQueryResultArticle, InlineQueryResultsButton

#: Seconds an answer to a query is reused (here, and by Telegram for everyone: cache_time).
CACHE_S = 60
#: Most queries kept in the cache; the oldest go first.
CACHE_ENTRIES = 256
#: ``/start`` payload of the hint buttons (the private chat's help).
HINT_PARAMETER = "inline"


@dataclass(frozen=True)
class InlineAnswer:
    """What one query is answered with: results, or none and a button saying why."""

    results: tuple[InlineQueryResultArticle, ...] = ()
    hint: str | None = None

    def button(self) -> InlineQueryResultsButton | None:
        return InlineQueryResultsButton(self.hint, start_parameter=HINT_PARAMETER) if self.hint else None


class InlineAnswerCache:
    """Answers by query for :data:`CACHE_S` seconds; a query being answered is a future that
    identical queries wait on. Event-loop only."""

    def __init__(self, ttl_s: float = CACHE_S, entries: int = CACHE_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.entries = entries
        self._answers: OrderedDict[str, tuple[float, asyncio.Future[InlineAnswer]]] = OrderedDict()

    @staticmethod
    def key(query: str) -> str:
        return " ".join(query.casefold().split())

    def get(self, query: str) -> asyncio.Future[InlineAnswer] | None:
        found = self._answers.get(self.key(query))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, query: str, answer: asyncio.Future[InlineAnswer]) -> None:
        key = self.key(query)
        self._answers.pop(key, None)
        self._answers[key] = (time.monotonic() + self.ttl_s, answer)
        while len(self._answers) > self.entries:
            self._answers.popitem(last=False)

    def forget(self, query: str) -> None:
        self._answers.pop(self.key(query), None)
