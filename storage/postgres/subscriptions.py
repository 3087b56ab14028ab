"""Which chats hear about new articles, and of which: the ``subscriptions`` table and its
``subscription_filters`` in PostgreSQL (migration 0006). As :mod:`storage.sqlite.subscriptions`:
a chat is subscribed while it holds a filter; one without filter rows hears everything.

    subscriptions = PostgresSubscriptions(db)
    subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)

Who may subscribe a chat is the bot's question (:mod:`bot.permissions`), not the store's.
"""

from __future__ import annotations

from storage.common import chat_filters, iso
from storage.postgres.database import Database
from storage.records import EVERYTHING, Subscription, SubscriptionFilter

#: A chat subscribed without filter rows hears everything: written down before its filters change.
_WRITE_DOWN_EVERYTHING = (
    "INSERT INTO subscription_filters (chat_id, kind, value, added_by, added_at) "
    "SELECT chat_id, 'all', '', subscribed_by, subscribed_at FROM subscriptions s WHERE chat_id = %s "
    "AND NOT EXISTS (SELECT 1 FROM subscription_filters f WHERE f.chat_id = s.chat_id)"
)


class PostgresSubscriptions:
    """:class:`storage.interfaces.SubscriptionStore` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, chat_id: int, chat_type: str, title: str, user_id: int | None, what: SubscriptionFilter = EVERYTHING
    ) -> bool:
        """Subscribe ``chat_id`` to ``what``; False if it already held that filter (nothing changes then)."""
        with self.db.transaction() as sql:
            sql.execute(_WRITE_DOWN_EVERYTHING, (chat_id,))
            sql.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, title, subscribed_by) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (chat_id) DO NOTHING",
                (chat_id, chat_type, title, user_id),
            )
            sql.execute(
                "INSERT INTO subscription_filters (chat_id, kind, value, added_by) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (chat_id, what.kind.value, what.value, user_id),
            )
            return sql.rowcount == 1

    def remove(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id`` from everything; False if it was not subscribed."""
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM subscription_filters WHERE chat_id = %s", (chat_id,))
            sql.execute("DELETE FROM subscriptions WHERE chat_id = %s", (chat_id,))
            return sql.rowcount == 1

    def remove_filter(self, chat_id: int, what: SubscriptionFilter) -> bool:
        """Drop one of the chat's filters (with its last one, the chat is unsubscribed); False
        if it did not hold ``what``."""
        with self.db.transaction() as sql:
            sql.execute(_WRITE_DOWN_EVERYTHING, (chat_id,))
            sql.execute(
                "DELETE FROM subscription_filters WHERE chat_id = %s AND kind = %s AND value = %s",
                (chat_id, what.kind.value, what.value),
            )
            removed = sql.rowcount == 1
            if removed:
                sql.execute(
                    "DELETE FROM subscriptions s WHERE chat_id = %s "
                    "AND NOT EXISTS (SELECT 1 FROM subscription_filters f WHERE f.chat_id = s.chat_id)",
                    (chat_id,),
                )
            return removed

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup (Telegram gave it a new id): keep its subscription and filters."""
        ids = {"old": old_chat_id, "new": new_chat_id}
        with self.db.transaction() as sql:
            # As SQLite's UPDATE OR REPLACE: the old chat's rows win over those already under the new id.
            for table in ("subscription_filters", "subscriptions"):
                sql.execute(
                    f"DELETE FROM {table} WHERE chat_id = %(new)s "
                    "AND EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = %(old)s)",
                    ids,
                )
            sql.execute("UPDATE subscription_filters SET chat_id = %(new)s WHERE chat_id = %(old)s", ids)
            sql.execute(
                "UPDATE subscriptions SET chat_id = %(new)s, chat_type = 'supergroup' WHERE chat_id = %(old)s", ids
            )

    def is_subscribed(self, chat_id: int) -> bool:
        return bool(self.db.query("SELECT 1 FROM subscriptions WHERE chat_id = %s", (chat_id,)))

    def filters(self, chat_id: int) -> list[SubscriptionFilter]:
        """The chat's filters, in the order added; [] when it is not subscribed."""
        chats = self.db.query("SELECT chat_id FROM subscriptions WHERE chat_id = %s", (chat_id,))
        rows = self.db.query(
            "SELECT * FROM subscription_filters WHERE chat_id = %s ORDER BY added_at, kind, value", (chat_id,)
        )
        return chat_filters([row["chat_id"] for row in chats], rows).get(chat_id, [])

    def audience(self) -> dict[int, list[SubscriptionFilter]]:
        """Every subscribed chat with its filters, in the order added."""
        chats = self.db.query("SELECT chat_id FROM subscriptions ORDER BY chat_id")
        rows = self.db.query("SELECT * FROM subscription_filters ORDER BY added_at, kind, value")
        return chat_filters([row["chat_id"] for row in chats], rows)

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
