"""The PostgreSQL state store (``HOPTAC_DATABASE_URL``): the same state as
:mod:`storage.sqlite`, shared by every replica of the bot.

    upgrade(url)                       # `hoptac db upgrade`: the schema, by versioned migrations
    state = PostgresStateStore(url)    # SchemaOutOfDate unless the schema is the code's
    state.subscriptions.add(...); state.outbox.claim_due(); state.close()

Moving an embedded deployment's SQLite state in (`hoptac db import-embedded`):
:mod:`storage.postgres.embedded_import`.
"""

from __future__ import annotations

from storage.postgres.answer_pages import PostgresAnswerPages
from storage.postgres.database import Database
from storage.postgres.feed_state import PostgresFeedState
from storage.postgres.feedback import PostgresFeedback
from storage.postgres.leases import PostgresLeases
from storage.postgres.outbox import PostgresOutbox
from storage.postgres.schema import upgrade
from storage.postgres.subscriptions import PostgresSubscriptions
from storage.postgres.updates import PostgresUpdateLog


class PostgresStateStore:
    """Every part of :class:`storage.interfaces.StateStore` on one PostgreSQL database, through a pool."""

    def __init__(self, url: str, *, max_connections: int = 5) -> None:
        self.database = Database(url, max_size=max_connections)
        self.subscriptions = PostgresSubscriptions(self.database)
        self.outbox = PostgresOutbox(self.database)
        self.feedback = PostgresFeedback(self.database)
        self.feeds = PostgresFeedState(self.database)
        self.answer_pages = PostgresAnswerPages(self.database)
        self.updates = PostgresUpdateLog(self.database)

    def leases(self, holder: str, ttl_s: float) -> PostgresLeases:
        return PostgresLeases(self.database, holder, ttl_s)

    def ping(self, timeout_s: float) -> None:
        self.database.ping(timeout_s)

    def close(self) -> None:
        self.database.close()


__all__ = ["Database", "PostgresStateStore", "upgrade"]
