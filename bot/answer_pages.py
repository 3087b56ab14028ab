"""What the inline buttons under an answer need, kept on the server under a short id.

Telegram allows 64 bytes of ``callback_data``: too little for a question, so a button
carries only an action and the id of its answer page (``more:Xk3J9xQa``) and the bot
remembers the rest. Pages are kept in memory, the most recent few thousand; a button
on an older (or pre-restart) answer gets a polite "ask again".

    pages = AnswerPages()
    page_id = pages.add(AnswerPage("câu hỏi", chat_id=1, user_id=2, offset=0, citations=cited))
    pages.get(page_id)
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from retrieval.models import Citation


class Action(StrEnum):
    """What a button under an answer does."""

    FULL_SOURCE = "src"  # "Nguồn đầy đủ": the whole paragraphs around the cited sentences
    MORE = "more"  # "Thêm kết quả": the next answers to the same question
    LIKE = "up"  # 👍
    DISLIKE = "down"  # 👎


@dataclass(frozen=True)
class AnswerPage:
    """One answer message: the question and the citations it showed, from ``offset``."""

    question: str
    chat_id: int
    user_id: int
    offset: int
    citations: tuple[Citation, ...]


def callback_data(action: Action, page_id: str) -> str:
    return f"{action.value}:{page_id}"


def parse_callback_data(data: str) -> tuple[Action, str] | None:
    """``"more:Xk3J9xQa"`` -> ``(Action.MORE, "Xk3J9xQa")``; None for anything else."""
    action, _, page_id = data.partition(":")
    try:
        return Action(action), page_id
    except ValueError:
        return None


class AnswerPages:
    """A bounded, least-recently-used map of page id -> :class:`AnswerPage`."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[str, AnswerPage] = OrderedDict()

    def add(self, page: AnswerPage) -> str:
        page_id = secrets.token_urlsafe(6)  # 8 characters
        while page_id in self._pages:
            page_id = secrets.token_urlsafe(6)
        self._pages[page_id] = page
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)
        return page_id

    def get(self, page_id: str) -> AnswerPage | None:
        page = self._pages.get(page_id)
        if page is not None:
            self._pages.move_to_end(page_id)
        return page

    def clear(self) -> None:
        self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)
