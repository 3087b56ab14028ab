"""Sending replies: long HTML split under Telegram's limit, and "typing…" while working.

    async with typing(context.bot, chat_id):
        answer = await client.ask(question)
    await reply_html(message, format_answer(answer), keyboard)

Parse mode (HTML), no link previews and "send even if the question was deleted" come
from the application's ``Defaults``; in groups a reply quotes the message it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import TelegramError

from markup.html import split_html

#: Telegram shows "typing…" for about 5 seconds; renew it a little before that.
TYPING_RENEW_S = 4.5
#: Most answers take tens of milliseconds: show "typing…" only when one takes longer than
#: this. Sending it at once would cost every question an extra Bot API round trip before
#: the work starts, and half of the bot's flood-limit budget (30 requests/s) under load.
TYPING_DELAY_S = 0.5


async def reply_html(message: Message, text: str, keyboard: InlineKeyboardMarkup | None = None) -> Message:
    """Reply with ``text`` in as many messages as it needs; the keyboard goes on the last."""
    chunks = split_html(text) or ["…"]
    sent = message
    for number, chunk in enumerate(chunks, 1):
        sent = await message.reply_text(chunk, reply_markup=keyboard if number == len(chunks) else None)
    return sent


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int, delay: float = TYPING_DELAY_S) -> AsyncIterator[None]:
    """Show "typing…" in ``chat_id`` once the block has run ``delay`` seconds, until it ends."""

    async def show() -> None:
        await asyncio.sleep(delay)
        while True:
            with contextlib.suppress(TelegramError):  # "typing" is a courtesy, never a reason to fail
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_RENEW_S)

    indicator = asyncio.create_task(show())
    try:
        yield
    finally:
        indicator.cancel()
