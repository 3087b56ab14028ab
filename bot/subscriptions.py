"""Which chats hear about new articles, and who may switch that on or off.

    subscriptions = Subscriptions(db)
    if await may_manage_notifications(bot, message, admin_ids):
        subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)

A private chat manages its own subscription. In a group, the group's administrators
(asked of Telegram with ``getChatMember``), an anonymous administrator posting as the
group, and the bot's own admins (``admin_ids``) may; nobody else.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import Bot, ChatMember, Message
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.database import Database

_LOGGER = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id       INTEGER PRIMARY KEY,
    chat_type     TEXT    NOT NULL,   -- private, group, supergroup, channel
    title         TEXT    NOT NULL DEFAULT '',
    subscribed_by INTEGER,            -- Telegram user id
    subscribed_at TEXT    NOT NULL    -- ISO 8601, UTC
);
"""


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    chat_type: str
    title: str
    subscribed_by: int | None
    subscribed_at: str


class Subscriptions:
    """The ``subscriptions`` table. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def add(self, chat_id: int, chat_type: str, title: str, user_id: int | None) -> bool:
        """Subscribe ``chat_id``; False if it already was (nothing changes then)."""
        with self.db.transaction() as sql:
            cursor = sql.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, chat_type, title, subscribed_by, subscribed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (chat_id, chat_type, title, user_id, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            return cursor.rowcount == 1

    def remove(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id``; False if it was not subscribed."""
        with self.db.transaction() as sql:
            return sql.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,)).rowcount == 1

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup (Telegram gave it a new id): keep its subscription."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE OR REPLACE subscriptions SET chat_id = ?, chat_type = 'supergroup' WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )

    def is_subscribed(self, chat_id: int) -> bool:
        return bool(self.db.query("SELECT 1 FROM subscriptions WHERE chat_id = ?", (chat_id,)))

    def all(self) -> list[Subscription]:
        rows = self.db.query("SELECT * FROM subscriptions ORDER BY subscribed_at, chat_id")
        return [Subscription(**dict(row)) for row in rows]

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM subscriptions")[0][0])


_GROUP_MANAGERS = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}


async def may_manage_notifications(bot: Bot, message: Message, admin_ids: Collection[int]) -> bool:
    """Whether the sender of ``message`` may subscribe or unsubscribe its chat."""
    chat, user = message.chat, message.from_user
    if chat.type == ChatType.PRIVATE:
        return True
    if message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator, posting as the group itself
    if user is None:
        return False
    if user.id in admin_ids:
        return True
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        _LOGGER.warning("getChatMember for user %s in chat %s failed: %s", user.id, chat.id, exc)
        return False
    return member.status in _GROUP_MANAGERS
