"""Is a message a question for the bot, and if so, which question?

In a private chat every text is a question. In a group the bot answers only when it is
addressed: ``/ask question`` or ``/ask@botname question`` (handled as a command), a
message that mentions ``@botname``, or a reply to one of the bot's own messages; it
stays silent on everything else, whether Telegram's privacy mode is on or off.

    question = question_in(message, bot_username="hoptac_bot", bot_id=123)
    if question is None: ...   # not for us: stay silent
    elif not question: ...     # addressed, but nothing asked: show how to ask

Entity offsets are in UTF-16 code units, as Telegram sends them.
"""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType

# "/ask@hoptac_bot rest" typed where the client sent no command entity.
_TEXT_COMMAND = re.compile(r"^/(?P<command>[A-Za-z0-9_]{1,32})(?:@(?P<target>[A-Za-z0-9_]+))?(?:\s+|$)")


def _cut_utf16(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the (offset, length) spans, counted in UTF-16 code units."""
    data = text.encode("utf-16-le")
    pieces, cursor = [], 0
    for offset, length in sorted(spans):
        pieces.append(data[2 * cursor : 2 * offset])
        cursor = max(cursor, offset + length)
    pieces.append(data[2 * cursor :])
    return b"".join(pieces).decode("utf-16-le")


def _with_punctuation(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """Widen a mention's span over the comma or colon right after it ("@bot, ...")."""
    offset, length = span
    following = text.encode("utf-16-le")[2 * (offset + length) : 2 * (offset + length + 1)]
    return (offset, length + 1) if following in (b",\x00", b":\x00", b";\x00") else span


def clean_question(text: str) -> str:
    """Collapse whitespace and drop the punctuation left where a mention was cut out."""
    return " ".join(text.split()).strip(" ,:;-–—")


def command_argument(message: Message) -> str:
    """The text after the leading ``/command`` (or ``/command@bot``), cleaned."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return clean_question(_cut_utf16(text, [(0, entity.length)]))
    match = _TEXT_COMMAND.match(text)
    return clean_question(text[match.end() :] if match else text)


def _mentions(message: Message, bot_username: str, bot_id: int) -> list[tuple[int, int]]:
    """UTF-16 spans of the mentions of this bot in the message."""
    text = message.text or ""
    handle = f"@{bot_username}".lower()
    spans = []
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if (entity.type == MessageEntity.MENTION and value.lower() == handle) or (
            entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id
        ):
            spans.append((entity.offset, entity.length))
    if not spans and bot_username:
        # No entities (some clients and test servers omit them): find the handle in the text.
        pattern = re.compile(rf"(?<![\w@]){re.escape(handle)}(?!\w)", re.IGNORECASE)
        for match in pattern.finditer(text):
            start = len(text[: match.start()].encode("utf-16-le")) // 2
            length = len(match.group().encode("utf-16-le")) // 2
            spans.append((start, length))
    return spans


def question_in(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question ``message`` (a text without a command entity) asks, "" if it addresses
    the bot without asking anything, or None if it is not for the bot."""
    text = message.text or ""
    typed_command = _TEXT_COMMAND.match(text)
    if typed_command:
        target = typed_command.group("target")
        if typed_command.group("command").lower() != "ask":
            return None
        if target and target.lower() != bot_username.lower():
            return None
        return clean_question(text[typed_command.end() :])
    if message.chat.type == ChatType.PRIVATE:
        return clean_question(text)
    mentions = _mentions(message, bot_username, bot_id)
    if mentions:
        return clean_question(_cut_utf16(text, [_with_punctuation(text, span) for span in mentions]))
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return clean_question(text)
    return None
