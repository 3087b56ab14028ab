"""The Telegram updates already taken, in PostgreSQL: the ``processed_updates`` table.

Telegram sends an update again when it got no 2xx (a replica died or a proxy timed out);
the first replica to record its ``update_id`` answers it, any other skips it. In webhook
mode a replica claims the update, answers it, then marks it answered
(``answered_at``): a claim never answered is taken over once the claimer's presence lease
has lapsed (it died before Telegram got its 2xx, so Telegram delivers it again).
"""

from __future__ import annotations

from storage.interfaces import UpdateClaim
from storage.leases import PRESENCE_PREFIX
from storage.postgres.database import Database

_CLAIM = """
INSERT INTO processed_updates (update_id, replica, taken_at) VALUES (%(id)s, %(replica)s, clock_timestamp())
ON CONFLICT (update_id) DO UPDATE SET replica = excluded.replica, taken_at = excluded.taken_at
WHERE processed_updates.answered_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM leases
    WHERE leases.name = %(prefix)s || processed_updates.replica AND leases.expires_at > clock_timestamp()
  )
RETURNING update_id
"""


class PostgresUpdateLog:
    """:class:`storage.interfaces.UpdateLog` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def first_time(self, update_id: int, replica: str) -> bool:
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO processed_updates (update_id, replica, answered_at) VALUES (%s, %s, now()) "
                "ON CONFLICT DO NOTHING",
                (update_id, replica),
            )
            return sql.rowcount == 1

    def claim(self, update_id: int, holder: str) -> UpdateClaim:
        with self.db.transaction() as sql:
            if sql.execute(_CLAIM, {"id": update_id, "replica": holder, "prefix": PRESENCE_PREFIX}).fetchone():
                return "ours"
            row = sql.execute("SELECT answered_at FROM processed_updates WHERE update_id = %s", (update_id,)).fetchone()
        return "answered" if row is not None and row["answered_at"] is not None else "busy"

    def answered(self, update_id: int) -> None:
        with self.db.transaction() as sql:
            sql.execute("UPDATE processed_updates SET answered_at = now() WHERE update_id = %s", (update_id,))

    def prune(self, older_than_s: float) -> int:
        with self.db.transaction() as sql:
            sql.execute(
                "DELETE FROM processed_updates WHERE taken_at < now() - make_interval(secs => %s)", (older_than_s,)
            )
            return sql.rowcount
