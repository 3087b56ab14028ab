"""Leases in PostgreSQL: one ``leases`` row per singleton, with an expiry on the server's clock.

Taking and renewing are one statement: the row is written only when it is free, lapsed or
already ours, so two replicas can never both succeed. Only the server's clock is read,
so replicas' clocks need not agree.
"""

from __future__ import annotations

from storage.postgres.database import Database

_HOLD = """
INSERT INTO leases (name, holder, expires_at)
VALUES (%(name)s, %(holder)s, clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
RETURNING holder
"""


class PostgresLeases:
    """:class:`storage.interfaces.Leases` on the ``leases`` table. Blocking calls."""

    def __init__(self, db: Database, holder: str, ttl_s: float) -> None:
        self.db = db
        self.holder = holder
        self.ttl_s = ttl_s

    def hold(self, name: str) -> bool:
        return bool(self.db.query(_HOLD, {"name": name, "holder": self.holder, "ttl": self.ttl_s}))

    def release(self, name: str) -> None:
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM leases WHERE name = %s AND holder = %s", (name, self.holder))

    def holder_of(self, name: str) -> str | None:
        rows = self.db.query("SELECT holder FROM leases WHERE name = %s AND expires_at > clock_timestamp()", (name,))
        return str(rows[0]["holder"]) if rows else None
