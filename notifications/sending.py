"""The small interface notifications are sent through, and what can go wrong with a send.

The notifier hands a finished Telegram-HTML message to a :class:`Sender` and, when the
send raises, asks a :data:`FailureReader` what the error means in the terms below. A
:data:`ButtonMaker`, when given, makes the buttons under a message from the notices it
lists (the bot's "Nội dung chính": the article's opening). The Telegram front end supplies
them (``bot.notifying``, ``bot.opening``); nothing here knows python-telegram-bot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from storage.records import Notice


class Sender(Protocol):
    """Anything that can post an HTML message to a chat (a ``telegram.Bot`` is one)."""

    async def send_message(self, chat_id: int, text: str, *, reply_markup: Any = None) -> Any: ...


class FailureKind(Enum):
    """What a failed send means for the notification."""

    RETRY_LATER = "retry_later"  # a flood limit: wait ``retry_after_s``
    CHAT_MOVED = "chat_moved"  # the group became a supergroup with ``new_chat_id``
    CHAT_GONE = "chat_gone"  # the chat blocked or removed the bot, or no longer exists
    REFUSED = "refused"  # the message itself was refused: sending it again would fail again
    TRANSIENT = "transient"  # a network error or time-out: back off and retry


@dataclass(frozen=True)
class SendFailure:
    kind: FailureKind
    retry_after_s: float | None = None
    new_chat_id: int | None = None


#: The buttons under a notification that lists ``notices`` (the front end's own markup);
#: None for none. Called once per message, before it is sent.
ButtonMaker = Callable[[Sequence[Notice]], Awaitable[Any]]

#: Reads an exception raised by :meth:`Sender.send_message`; None: not a send failure
#: (a bug), which is raised again.
FailureReader = Callable[[BaseException], SendFailure | None]
