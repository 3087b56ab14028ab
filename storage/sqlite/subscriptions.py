"""Which chats hear about new articles: the ``subscriptions`` table.

    subscriptions = SQLiteSubscriptions(db)
    subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)

Who may subscribe a chat is the bot's question (:mod:`bot.permissions`), not the store's.
"""

from __future__ import annotations

from storage.common import now_iso
from storage.records import Subscription
from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id       INTEGER PRIMARY KEY,
    chat_type     TEXT    NOT NULL,   -- private, group, supergroup, channel
    title         TEXT    NOT NULL DEFAULT '',
    subscribed_by INTEGER,            -- Telegram user id
    subscribed_at TEXT    NOT NULL    -- ISO 8601, UTC
);
"""


class SQLiteSubscriptions:
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
                (chat_id, chat_type, title, user_id, now_iso()),
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
