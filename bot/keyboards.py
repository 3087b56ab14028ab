"""The inline buttons under an answer: full source, more results, 👍/👎."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.answer_pages import Action, callback_data

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
