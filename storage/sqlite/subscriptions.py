"""Which chats hear about new articles, and of which: the ``subscriptions`` table and its
``subscription_filters`` (a place, a keyword, or everything; a chat may hold several).

    subscriptions = SQLiteSubscriptions(db)
    subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)
    subscriptions.add(chat_id, "supergroup", "Sở Ngoại vụ", user_id, SubscriptionFilter(FilterKind.PLACE, "Hải Phòng"))
    subscriptions.audience()          # {chat_id: [its filters]}: what the notifier matches articles against

A chat is subscribed while it holds at least one filter. A chat subscribed before filters
existed has no filter rows and hears everything (:data:`storage.records.EVERYTHING`); its
first change of filters writes that down first. Who may subscribe a chat is the bot's
question (:mod:`bot.permissions`), not the store's.
"""

from __future__ import annotations

from storage.common import chat_filters, now_iso
from storage.records import EVERYTHING, Subscription, SubscriptionFilter
from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id       INTEGER PRIMARY KEY,
    chat_type     TEXT    NOT NULL,   -- private, group, supergroup, channel
    title         TEXT    NOT NULL DEFAULT '',
    subscribed_by INTEGER,            -- Telegram user id
    subscribed_at TEXT    NOT NULL    -- ISO 8601, UTC
);
CREATE TABLE IF NOT EXISTS subscription_filters (
    chat_id  INTEGER NOT NULL,        -- a subscribed chat
    kind     TEXT    NOT NULL CHECK (kind IN ('all', 'place', 'keyword')),
    value    TEXT    NOT NULL DEFAULT '',  -- place: the 2025 unit ("Hải Phòng"); keyword: its words
    added_by INTEGER,                 -- Telegram user id
    added_at TEXT    NOT NULL,        -- ISO 8601, UTC
    PRIMARY KEY (chat_id, kind, value)
);
"""

#: A chat subscribed before filters existed hears everything: written down before its filters change.
_WRITE_DOWN_EVERYTHING = (
    "INSERT INTO subscription_filters (chat_id, kind, value, added_by, added_at) "
    "SELECT chat_id, 'all', '', subscribed_by, subscribed_at FROM subscriptions s WHERE chat_id = ? "
    "AND NOT EXISTS (SELECT 1 FROM subscription_filters f WHERE f.chat_id = s.chat_id)"
)


class SQLiteSubscriptions:
    """The ``subscriptions`` and ``subscription_filters`` tables. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)  # CREATE TABLE IF NOT EXISTS: a file from before filters gains their table

    def add(
        self, chat_id: int, chat_type: str, title: str, user_id: int | None, what: SubscriptionFilter = EVERYTHING
    ) -> bool:
        """Subscribe ``chat_id`` to ``what``; False if it already held that filter (nothing changes then)."""
        now = now_iso()
        with self.db.transaction() as sql:
            sql.execute(_WRITE_DOWN_EVERYTHING, (chat_id,))
            sql.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, chat_type, title, subscribed_by, subscribed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (chat_id, chat_type, title, user_id, now),
            )
            cursor = sql.execute(
                "INSERT OR IGNORE INTO subscription_filters (chat_id, kind, value, added_by, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (chat_id, what.kind.value, what.value, user_id, now),
            )
            return cursor.rowcount == 1

    def remove(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id`` from everything; False if it was not subscribed."""
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM subscription_filters WHERE chat_id = ?", (chat_id,))
            return sql.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,)).rowcount == 1

    def remove_filter(self, chat_id: int, what: SubscriptionFilter) -> bool:
        """Drop one of the chat's filters (with its last one, the chat is unsubscribed); False
        if it did not hold ``what``."""
        with self.db.transaction() as sql:
            sql.execute(_WRITE_DOWN_EVERYTHING, (chat_id,))
            removed = sql.execute(
                "DELETE FROM subscription_filters WHERE chat_id = ? AND kind = ? AND value = ?",
                (chat_id, what.kind.value, what.value),
            ).rowcount
            if removed:
                sql.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM subscription_filters WHERE chat_id = ?)",
                    (chat_id, chat_id),
                )
            return removed == 1

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup (Telegram gave it a new id): keep its subscription and filters."""
        with self.db.transaction() as sql:
            if sql.execute("SELECT 1 FROM subscriptions WHERE chat_id = ?", (old_chat_id,)).fetchone():
                sql.execute("DELETE FROM subscription_filters WHERE chat_id = ?", (new_chat_id,))
                sql.execute("UPDATE subscription_filters SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id))
            sql.execute(
                "UPDATE OR REPLACE subscriptions SET chat_id = ?, chat_type = 'supergroup' WHERE chat_id = ?",
                (new_chat_id, old_chat_id),
            )

    def is_subscribed(self, chat_id: int) -> bool:
        return bool(self.db.query("SELECT 1 FROM subscriptions WHERE chat_id = ?", (chat_id,)))

    def filters(self, chat_id: int) -> list[SubscriptionFilter]:
        """The chat's filters, in the order added; [] when it is not subscribed."""
        chats = self.db.query("SELECT chat_id FROM subscriptions WHERE chat_id = ?", (chat_id,))
        rows = self.db.query(
            "SELECT * FROM subscription_filters WHERE chat_id = ? ORDER BY added_at, rowid", (chat_id,)
        )
        return chat_filters([row["chat_id"] for row in chats], rows).get(chat_id, [])

    def audience(self) -> dict[int, list[SubscriptionFilter]]:
        """Every subscribed chat with its filters, in the order added."""
        chats = self.db.query("SELECT chat_id FROM subscriptions ORDER BY chat_id")
        rows = self.db.query("SELECT * FROM subscription_filters ORDER BY added_at, rowid")
        return chat_filters([row["chat_id"] for row in chats], rows)

    def all(self) -> list[Subscription]:
        rows = self.db.query(
            "SELECT chat_id, chat_type, title, subscribed_by, subscribed_at FROM subscriptions "
            "ORDER BY subscribed_at, chat_id"
        )
        return [Subscription(**dict(row)) for row in rows]

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM subscriptions")[0][0])
