"""The durable outbox in PostgreSQL: which articles were announced, which notifications are due.

Exactly once, as in the SQLite backend (:mod:`storage.sqlite.outbox` tells the whole
story): an article id enters ``announced_articles`` once, ever, and in the same statement
gets one ``outbox`` row per subscribed chat. Two replicas announcing the same article at
once take turns on its primary key (always in article id order, so they cannot deadlock);
the second finds it announced and queues nothing.

Several senders share the outbox through :meth:`PostgresOutbox.claim_due`: it takes due
rows with ``FOR UPDATE SKIP LOCKED`` and pushes their next attempt ``lease_s`` on, so no
other sender sees them while one is sending; a sender that dies leaves them due again
when the lease ends.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from psycopg.rows import DictRow

from storage.common import BASELINE_KEY, SettlingOutbox, iso, now_iso, pending_notice
from storage.postgres.database import Database
from storage.records import Delivery, Notice, PendingNotice

_ANNOUNCE = """
WITH notice AS (
    SELECT * FROM unnest(
        %(ids)s::text[], %(titles)s::text[], %(urls)s::text[], %(published)s::text[],
        %(sources)s::text[], %(leads)s::text[], %(summary_only)s::boolean[]
    ) WITH ORDINALITY AS n (article_id, title, url, published, source, lead, summary_only, position)
), fresh AS (
    INSERT INTO announced_articles (article_id, title, url, published, source, lead, summary_only)
    SELECT DISTINCT ON (article_id) article_id, title, url, published, source, lead, summary_only FROM notice
    ORDER BY article_id, position  -- one lock order for every replica: no deadlock between two announcers
    ON CONFLICT (article_id) DO NOTHING
    RETURNING article_id
)
INSERT INTO outbox (chat_id, article_id, next_attempt_at)
"""
_TO_EVERY_CHAT = """
SELECT s.chat_id, fresh.article_id, to_timestamp(%(now)s) FROM fresh CROSS JOIN subscriptions s
ON CONFLICT DO NOTHING
"""
#: With an audience: each fresh article to the chats its filters matched that are still subscribed.
_TO_ITS_AUDIENCE = """
SELECT DISTINCT a.chat_id, fresh.article_id, to_timestamp(%(now)s)
FROM fresh JOIN unnest(%(audience_articles)s::text[], %(audience_chats)s::bigint[]) AS a (article_id, chat_id)
    ON a.article_id = fresh.article_id
JOIN subscriptions s ON s.chat_id = a.chat_id
ON CONFLICT DO NOTHING
"""

_NOTICE_COLUMNS = "a.article_id, a.title, a.url, a.published, a.source, a.lead, a.summary_only"

_DUE = f"""
SELECT o.chat_id, o.attempts, {_NOTICE_COLUMNS} FROM outbox o
JOIN announced_articles a ON a.article_id = o.article_id
JOIN subscriptions s ON s.chat_id = o.chat_id
WHERE o.status = 'pending' AND o.next_attempt_at <= to_timestamp(%(now)s)
ORDER BY o.chat_id, o.created_at, a.published NULLS FIRST, a.article_id
"""

_CLAIM = f"""
WITH claimed AS (
    SELECT o.chat_id, o.article_id FROM outbox o
    JOIN announced_articles a ON a.article_id = o.article_id
    JOIN subscriptions s ON s.chat_id = o.chat_id
    WHERE o.status = 'pending' AND o.next_attempt_at <= to_timestamp(%(now)s)
    ORDER BY o.chat_id, o.created_at, a.published NULLS FIRST, a.article_id
    LIMIT %(limit)s
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox o SET next_attempt_at = to_timestamp(%(until)s)
FROM claimed JOIN announced_articles a ON a.article_id = claimed.article_id
WHERE o.chat_id = claimed.chat_id AND o.article_id = claimed.article_id
RETURNING o.chat_id, o.attempts, o.created_at, {_NOTICE_COLUMNS}
"""


class PostgresOutbox(SettlingOutbox):
    """:class:`storage.interfaces.OutboxStore` on the ``announced_articles`` and ``outbox`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- finding new articles --------------------------------------------------------------

    def has_baseline(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM outbox_meta WHERE key = %s", (BASELINE_KEY,)))

    def unannounced(self, article_ids: Iterable[str]) -> set[str]:
        """The ids among ``article_ids`` that were never seen before."""
        wanted = set(article_ids)
        rows = self.db.query("SELECT article_id FROM announced_articles WHERE article_id = ANY(%s)", (list(wanted),))
        return wanted - {row["article_id"] for row in rows}

    def record_baseline(self, article_ids: Iterable[str]) -> None:
        """Mark ``article_ids`` (the index when notifications start) as seen, never to be announced."""
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO announced_articles (article_id, baseline) SELECT unnest(%s::text[]), true "
                "ON CONFLICT (article_id) DO NOTHING",
                (list(article_ids),),
            )
            sql.execute(
                "INSERT INTO outbox_meta (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (BASELINE_KEY, now_iso()),
            )

    def announce(
        self, notices: Sequence[Notice], now: float | None = None, audience: Mapping[str, Collection[int]] | None = None
    ) -> int:
        """Queue each never-seen article for every subscribed chat (with ``audience``: for
        those of its chats still subscribed), in one statement.

        Returns the number of outbox rows made; an article seen before is skipped.
        """
        if not notices:
            return 0
        pairs = [(article, chat) for article, chats in (audience or {}).items() for chat in chats]
        with self.db.transaction() as sql:
            sql.execute(
                _ANNOUNCE + (_TO_EVERY_CHAT if audience is None else _TO_ITS_AUDIENCE),
                {
                    "audience_articles": [article for article, _ in pairs],
                    "audience_chats": [chat for _, chat in pairs],
                    "ids": [n.article_id for n in notices],
                    "titles": [n.title for n in notices],
                    "urls": [n.url for n in notices],
                    "published": [n.published for n in notices],
                    "sources": [n.source for n in notices],
                    "leads": [n.lead for n in notices],
                    "summary_only": [n.summary_only for n in notices],
                    "now": time.time() if now is None else now,
                },
            )
            return max(sql.rowcount, 0)

    # --- delivering ------------------------------------------------------------------------

    def due(self, now: float | None = None) -> list[PendingNotice]:
        """Pending rows of subscribed chats whose time has come, by chat, oldest first."""
        return [pending_notice(row) for row in self.db.query(_DUE, {"now": time.time() if now is None else now})]

    def claim_due(self, now: float | None = None, limit: int = 1000, lease_s: float = 60.0) -> list[PendingNotice]:
        """Up to ``limit`` due rows, hidden from every other claimer for ``lease_s`` seconds."""
        now = time.time() if now is None else now
        with self.db.transaction() as sql:
            rows = sql.execute(_CLAIM, {"now": now, "until": now + lease_s, "limit": limit}).fetchall()
        # RETURNING keeps no order: put them back in due()'s.
        rows.sort(key=lambda r: (r["chat_id"], r["created_at"], r["published"] is not None, r["published"] or "",
                                 r["article_id"]))  # fmt: skip
        return [pending_notice(row) for row in rows]

    def _settle(self, chat_id: int, article_ids: Sequence[str], status: Delivery, error: str | None) -> None:
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE outbox SET status = %(status)s, last_error = %(error)s, "
                "sent_at = CASE WHEN %(sent)s THEN now() END "
                "WHERE chat_id = %(chat)s AND article_id = ANY(%(ids)s) AND status = 'pending'",
                {
                    "status": status.value,
                    "error": error,
                    "sent": status == Delivery.SENT,
                    "chat": chat_id,
                    "ids": list(article_ids),
                },
            )

    def release(self, chat_id: int, article_ids: Sequence[str]) -> None:
        """Give claimed rows back unsent: due again at once."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE outbox SET next_attempt_at = now() "
                "WHERE chat_id = %s AND article_id = ANY(%s) AND status = 'pending'",
                (chat_id, list(article_ids)),
            )

    def defer(self, chat_id: int, article_ids: Sequence[str], delay_s: float, error: str) -> None:
        """Try again in ``delay_s`` seconds (after a network error or a flood limit)."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = to_timestamp(%s), last_error = %s "
                "WHERE chat_id = %s AND article_id = ANY(%s) AND status = 'pending'",
                (time.time() + delay_s, error, chat_id, list(article_ids)),
            )

    def drop_chat(self, chat_id: int, reason: str) -> int:
        """Give up every pending notification of ``chat_id``; returns how many."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE outbox SET status = 'dropped', last_error = %s WHERE chat_id = %s AND status = 'pending'",
                (reason, chat_id),
            )
            return sql.rowcount

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its pending notifications go to the new id, due at once
        (except an article the new id already has a row for, as SQLite's UPDATE OR IGNORE)."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE outbox o SET chat_id = %(new)s, next_attempt_at = least(o.next_attempt_at, now()) "
                "WHERE o.chat_id = %(old)s AND o.status = 'pending' "
                "AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.chat_id = %(new)s AND x.article_id = o.article_id)",
                {"old": old_chat_id, "new": new_chat_id},
            )

    # --- reporting -------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Notifications waiting to be sent to chats that are still subscribed."""
        rows = self.db.query(
            "SELECT COUNT(*) AS n FROM outbox o JOIN subscriptions s ON s.chat_id = o.chat_id "
            "WHERE o.status = 'pending'"
        )
        return int(rows[0]["n"])

    def rows(self, chat_id: int | None = None) -> list[dict[str, object]]:
        """Every outbox row (of ``chat_id``), for reports and tests, as the SQLite backend gives them."""
        where, parameters = ("WHERE chat_id = %s", (chat_id,)) if chat_id is not None else ("", ())
        rows = self.db.query(
            "SELECT chat_id, article_id, status, attempts, extract(epoch FROM next_attempt_at)::float8 "
            f"AS next_attempt_at, created_at, sent_at, last_error FROM outbox {where} "
            "ORDER BY created_at, article_id, chat_id",
            parameters,
        )
        return [_plain(row) for row in rows]


def _plain(row: DictRow) -> dict[str, Any]:
    return {**row, "created_at": iso(row["created_at"]), "sent_at": iso(row["sent_at"])}
