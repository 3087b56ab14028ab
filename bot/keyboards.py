"""The inline buttons under an answer: full source, more results, 👍/👎; and under the
question that follows a 👎, the reasons to choose from.

Telegram allows 64 bytes of ``callback_data``: too little for a question, so a button
carries only an action and the id of its answer page (``more:Xk3J9xQa``), and a reason
button its reason too (``why:Xk3J9xQa:outdated``); the page itself is in the state store
(:class:`storage.interfaces.AnswerPageStore`).
"""

from __future__ import annotations

from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from markup import catalogue as words
from storage.records import FeedbackReason


class Action(StrEnum):
    """What a button under an answer does."""

    FULL_SOURCE = "src"  # "Nguồn đầy đủ": the whole paragraphs around the cited sentences
    MORE = "more"  # "Thêm kết quả": the next answers to the same question
    LIKE = "up"  # 👍
    DISLIKE = "down"  # 👎
    REASON = "why"  # why 👎: one of storage.records.FeedbackReason
    OPENING = "lead"  # under a notification: the article's opening sentences


def callback_data(action: Action, page_id: str, detail: str = "") -> str:
    return f"{action.value}:{page_id}:{detail}" if detail else f"{action.value}:{page_id}"


def parse_callback_data(data: str) -> tuple[Action, str] | None:
    """``"more:Xk3J9xQa"`` -> ``(Action.MORE, "Xk3J9xQa")``; None for anything else."""
    action, _, rest = data.partition(":")
    try:
        return Action(action), rest.partition(":")[0]
    except ValueError:
        return None


def reason_in(data: str) -> FeedbackReason | None:
    """The reason a reason button carries (``why:Xk3J9xQa:outdated``); None for any other button."""
    action, _, rest = data.partition(":")
    if action != Action.REASON:
        return None
    try:
        return FeedbackReason(rest.partition(":")[2])
    except ValueError:
        return None


FULL_SOURCE = words.BUTTON_FULL_SOURCE.say()
MORE = words.BUTTON_MORE.say()


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


#: The reason buttons, in the order shown; the words admins read back in /feedback.
REASON_BUTTONS = {
    FeedbackReason.WRONG_QUOTE: words.REASON_WRONG_QUOTE.say(),
    FeedbackReason.NOT_ANSWERED: words.REASON_NOT_ANSWERED.say(),
    FeedbackReason.OUTDATED: words.REASON_OUTDATED.say(),
}


def reason_keyboard(page_id: str) -> InlineKeyboardMarkup:
    """One button per reason a 👎 may give, one row each (the labels are long on a phone)."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=callback_data(Action.REASON, page_id, reason.value))]
            for reason, label in REASON_BUTTONS.items()
        ]
    )
