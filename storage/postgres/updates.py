"""The Telegram updates already taken, in PostgreSQL: the ``processed_updates`` table.

Telegram sends an update again when it got no 2xx (a replica died or a proxy timed out);
the first replica to record its ``update_id`` answers it, any other skips it.
"""

from __future__ import annotations

from storage.postgres.database import Database


class PostgresUpdateLog:
    """:class:`storage.interfaces.UpdateLog` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def first_time(self, update_id: int, replica: str) -> bool:
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO processed_updates (update_id, replica) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (update_id, replica),
            )
            return sql.rowcount == 1

    def prune(self, older_than_s: float) -> int:
        with self.db.transaction() as sql:
            sql.execute(
                "DELETE FROM processed_updates WHERE taken_at < now() - make_interval(secs => %s)", (older_than_s,)
            )
            return sql.rowcount
