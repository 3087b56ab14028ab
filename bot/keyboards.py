"""The inline buttons under an answer: full source, more results, 👍/👎.

Telegram allows 64 bytes of ``callback_data``: too little for a question, so a button
carries only an action and the id of its answer page (``more:Xk3J9xQa``); the page itself
is in the state store (:class:`storage.interfaces.AnswerPageStore`).
"""

from __future__ import annotations

from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


class Action(StrEnum):
    """What a button under an answer does."""

    FULL_SOURCE = "src"  # "Nguồn đầy đủ": the whole paragraphs around the cited sentences
    MORE = "more"  # "Thêm kết quả": the next answers to the same question
    LIKE = "up"  # 👍
    DISLIKE = "down"  # 👎


def callback_data(action: Action, page_id: str) -> str:
    return f"{action.value}:{page_id}"


def parse_callback_data(data: str) -> tuple[Action, str] | None:
    """``"more:Xk3J9xQa"`` -> ``(Action.MORE, "Xk3J9xQa")``; None for anything else."""
    action, _, page_id = data.partition(":")
    try:
        return Action(action), page_id
    except ValueError:
        return None


FULL_SOURCE = "📄 Nguồn đầy đủ"
MORE = "➕ Thêm kết quả"


def answer_keyboard(page_id: str, *, more: bool) -> InlineKeyboardMarkup:
    """Buttons for one answer page; "Thêm kết quả" only when more may exist."""
    first_row = [InlineKeyboardButton(FULL_SOURCE, callback_data=callback_data(Action.FULL_SOURCE, page_id))]
    if more:
        first_row.append(InlineKeyboardButton(MORE, callback_data=callback_data(Action.MORE, page_id)))
    votes = [
        InlineKeyboardButton("👍", callback_data=callback_data(Action.LIKE, page_id)),
        InlineKeyboardButton("👎", callback_data=callback_data(Action.DISLIKE, page_id)),
    ]
    return InlineKeyboardMarkup([first_row, votes])
