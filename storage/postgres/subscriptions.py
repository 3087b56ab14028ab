"""Which chats hear about new articles: the ``subscriptions`` table in PostgreSQL.

    subscriptions = PostgresSubscriptions(db)
    subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)

Who may subscribe a chat is the bot's question (:mod:`bot.permissions`), not the store's.
"""

from __future__ import annotations

from storage.common import iso
from storage.postgres.database import Database
from storage.records import Subscription


class PostgresSubscriptions:
    """:class:`storage.interfaces.SubscriptionStore` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, chat_id: int, chat_type: str, title: str, user_id: int | None) -> bool:
        """Subscribe ``chat_id``; False if it already was (nothing changes then)."""
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, title, subscribed_by) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (chat_id) DO NOTHING",
                (chat_id, chat_type, title, user_id),
            )
            return sql.rowcount == 1

    def remove(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id``; False if it was not subscribed."""
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM subscriptions WHERE chat_id = %s", (chat_id,))
            return sql.rowcount == 1

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup (Telegram gave it a new id): keep its subscription."""
        with self.db.transaction() as sql:
            # As SQLite's UPDATE OR REPLACE: the old chat's row wins over one already under the new id.
            sql.execute(
                "DELETE FROM subscriptions WHERE chat_id = %(new)s "
                "AND EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = %(old)s)",
                {"old": old_chat_id, "new": new_chat_id},
            )
            sql.execute(
                "UPDATE subscriptions SET chat_id = %(new)s, chat_type = 'supergroup' WHERE chat_id = %(old)s",
                {"old": old_chat_id, "new": new_chat_id},
            )

    def is_subscribed(self, chat_id: int) -> bool:
        return bool(self.db.query("SELECT 1 FROM subscriptions WHERE chat_id = %s", (chat_id,)))

    def all(self) -> list[Subscription]:
        rows = self.db.query("SELECT * FROM subscriptions ORDER BY subscribed_at, chat_id")
        return [
            Subscription(
                chat_id=row["chat_id"],
                chat_type=row["chat_type"],
                title=row["title"],
                subscribed_by=row["subscribed_by"],
                subscribed_at=iso(row["subscribed_at"]) or "",
            )
            for row in rows
        ]

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) AS n FROM subscriptions")[0]["n"])
