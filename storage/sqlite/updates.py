"""The Telegram updates already taken: the ``processed_updates`` table.

One process uses a SQLite file, so a repeated update is rare here (a webhook re-delivery
after a proxy time-out); the table keeps the same promise as PostgreSQL's.
"""

from __future__ import annotations

import time

from storage.interfaces import UpdateClaim
from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_updates (
    update_id INTEGER PRIMARY KEY,  -- Telegram's update_id
    replica   TEXT    NOT NULL,
    taken_at  REAL    NOT NULL,     -- Unix time
    answered_at REAL                -- Unix time; NULL while being answered (webhook mode)
);
CREATE INDEX IF NOT EXISTS processed_updates_age ON processed_updates (taken_at);
"""


class SQLiteUpdateLog:
    """:class:`storage.interfaces.UpdateLog` on SQLite. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)
        with db.transaction() as sql:  # a file made before answered_at existed
            columns = {row[1] for row in sql.execute("PRAGMA table_info(processed_updates)")}
            if "answered_at" not in columns:
                sql.execute("ALTER TABLE processed_updates ADD COLUMN answered_at REAL")
                sql.execute("UPDATE processed_updates SET answered_at = taken_at")

    def first_time(self, update_id: int, replica: str) -> bool:
        with self.db.transaction() as sql:
            return (
                sql.execute(
                    "INSERT OR IGNORE INTO processed_updates (update_id, replica, taken_at, answered_at) "
                    "VALUES (?, ?, ?, ?)",
                    (update_id, replica, time.time(), time.time()),
                ).rowcount
                == 1
            )

    def claim(self, update_id: int, holder: str) -> UpdateClaim:
        # One process at a time uses the file: a claim by another holder is a process that died.
        with self.db.transaction() as sql:
            taken = sql.execute(
                "INSERT INTO processed_updates (update_id, replica, taken_at) VALUES (?, ?, ?) "
                "ON CONFLICT (update_id) DO UPDATE SET replica = excluded.replica, taken_at = excluded.taken_at "
                "WHERE processed_updates.answered_at IS NULL AND processed_updates.replica <> excluded.replica",
                (update_id, holder, time.time()),
            ).rowcount
            if taken == 1:
                return "ours"
            row = sql.execute("SELECT answered_at FROM processed_updates WHERE update_id = ?", (update_id,)).fetchone()
        return "answered" if row is not None and row[0] is not None else "busy"

    def answered(self, update_id: int) -> None:
        with self.db.transaction() as sql:
            sql.execute("UPDATE processed_updates SET answered_at = ? WHERE update_id = ?", (time.time(), update_id))

    def prune(self, older_than_s: float) -> int:
        with self.db.transaction() as sql:
            return sql.execute(
                "DELETE FROM processed_updates WHERE taken_at < ?", (time.time() - older_than_s,)
            ).rowcount
