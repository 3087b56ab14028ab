"""The Telegram updates already taken: the ``processed_updates`` table.

One process uses a SQLite file, so a repeated update is rare here (a webhook re-delivery
after a proxy time-out); the table keeps the same promise as PostgreSQL's.
"""

from __future__ import annotations

import time

from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_updates (
    update_id INTEGER PRIMARY KEY,  -- Telegram's update_id
    replica   TEXT    NOT NULL,
    taken_at  REAL    NOT NULL      -- Unix time
);
CREATE INDEX IF NOT EXISTS processed_updates_age ON processed_updates (taken_at);
"""


class SQLiteUpdateLog:
    """:class:`storage.interfaces.UpdateLog` on SQLite. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def first_time(self, update_id: int, replica: str) -> bool:
        with self.db.transaction() as sql:
            return (
                sql.execute(
                    "INSERT OR IGNORE INTO processed_updates (update_id, replica, taken_at) VALUES (?, ?, ?)",
                    (update_id, replica, time.time()),
                ).rowcount
                == 1
            )

    def prune(self, older_than_s: float) -> int:
        with self.db.transaction() as sql:
            return sql.execute(
                "DELETE FROM processed_updates WHERE taken_at < ?", (time.time() - older_than_s,)
            ).rowcount
