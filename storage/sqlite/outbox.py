"""The durable outbox: which articles were announced, and which notifications are due.

    outbox = SQLiteOutbox(db)
    fresh = outbox.unannounced(ids_in_the_index)            # never seen before
    outbox.announce([Notice(...), ...])                      # one row per subscribed chat, one transaction
    for item in outbox.due(time.time()): ...                 # send, then:
    outbox.mark_sent(chat_id, [article_id])                  # only after Telegram confirmed

Exactly once: an article id enters ``announced_articles`` once, ever, and in the same
transaction gets one ``outbox`` row per subscribed chat (``PRIMARY KEY (chat_id,
article_id)``), so neither a restart nor an updated article (same id) queues it again. A
row leaves ``pending`` only when marked sent (after Telegram's "ok"), dropped (the chat
left or blocked the bot) or failed (Telegram refused the message itself). The one window:
the bot dies after Telegram accepted a message and before ``mark_sent`` committed; that
message is sent again after the restart.

The first sync on a new database records the articles already indexed as a *baseline*:
they were there before notifications started and are never announced.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence

from storage.common import BASELINE_KEY, SettlingOutbox, now_iso, pending_notice
from storage.records import Delivery, Notice, PendingNotice
from storage.sqlite.database import Database
from storage.sqlite.subscriptions import SCHEMA as SUBSCRIPTIONS_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS announced_articles (
    article_id   TEXT    PRIMARY KEY,
    first_seen   TEXT    NOT NULL,            -- ISO 8601, UTC: when the bot first saw it indexed
    baseline     INTEGER NOT NULL DEFAULT 0,  -- 1: indexed before notifications began; never announced
    title        TEXT    NOT NULL DEFAULT '',
    url          TEXT,
    published    TEXT,                        -- ISO 8601, as in the corpus
    source       TEXT    NOT NULL DEFAULT '',
    lead         TEXT    NOT NULL DEFAULT '', -- the first sentence or two, verbatim
    summary_only INTEGER NOT NULL DEFAULT 0   -- 1: only the feed's summary could be fetched
);
CREATE TABLE IF NOT EXISTS outbox (
    chat_id         INTEGER NOT NULL,
    article_id      TEXT    NOT NULL REFERENCES announced_articles (article_id),
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,         -- Unix time; due when <= now
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    last_error      TEXT,
    PRIMARY KEY (chat_id, article_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_DUE = (
    "SELECT o.chat_id, o.attempts, a.* FROM outbox o "
    "JOIN announced_articles a ON a.article_id = o.article_id "
    "JOIN subscriptions s ON s.chat_id = o.chat_id "
    "WHERE o.status = 'pending' AND o.next_attempt_at <= ? "
    "ORDER BY o.chat_id, o.created_at, a.published, a.article_id LIMIT ?"  # LIMIT -1: all
)


class SQLiteOutbox(SettlingOutbox):
    """The ``announced_articles`` and ``outbox`` tables. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SUBSCRIPTIONS_SCHEMA)  # due() and announce() read the subscribed chats
        db.ensure(SCHEMA)

    # --- finding new articles --------------------------------------------------------------

    def has_baseline(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM outbox_meta WHERE key = ?", (BASELINE_KEY,)))

    def unannounced(self, article_ids: Iterable[str]) -> set[str]:
        """The ids among ``article_ids`` that were never seen before."""
        known = {row[0] for row in self.db.query("SELECT article_id FROM announced_articles")}
        return {i for i in article_ids if i not in known}

    def record_baseline(self, article_ids: Iterable[str]) -> None:
        """Mark ``article_ids`` (the index when notifications start) as seen, never to be announced."""
        now = now_iso()
        with self.db.transaction() as sql:
            sql.executemany(
                "INSERT OR IGNORE INTO announced_articles (article_id, first_seen, baseline) VALUES (?, ?, 1)",
                [(i, now) for i in article_ids],
            )
            sql.execute("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES (?, ?)", (BASELINE_KEY, now))

    def announce(
        self, notices: Sequence[Notice], now: float | None = None, audience: Mapping[str, Collection[int]] | None = None
    ) -> int:
        """Queue each never-seen article for every subscribed chat (with ``audience``: for
        those of its chats still subscribed), all in one transaction.

        Returns the number of outbox rows made. An article seen before is skipped, so
        calling this twice with the same notices queues nothing the second time.
        """
        now = time.time() if now is None else now
        created = now_iso()
        rows = 0
        with self.db.transaction() as sql:
            subscribed = [row[0] for row in sql.execute("SELECT chat_id FROM subscriptions ORDER BY chat_id")]
            for notice in notices:
                inserted = sql.execute(
                    "INSERT OR IGNORE INTO announced_articles "
                    "(article_id, first_seen, title, url, published, source, lead, summary_only) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        notice.article_id,
                        created,
                        notice.title,
                        notice.url,
                        notice.published,
                        notice.source,
                        notice.lead,
                        int(notice.summary_only),
                    ),
                ).rowcount
                if not inserted:
                    continue
                chats = subscribed
                if audience is not None:
                    wanted = set(audience.get(notice.article_id, ()))
                    chats = [chat for chat in subscribed if chat in wanted]
                sql.executemany(
                    "INSERT OR IGNORE INTO outbox (chat_id, article_id, next_attempt_at, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    [(chat, notice.article_id, now, created) for chat in chats],
                )
                rows += len(chats)
        return rows

    # --- delivering ------------------------------------------------------------------------

    def due(self, now: float | None = None) -> list[PendingNotice]:
        """Pending rows of subscribed chats whose time has come, by chat, oldest first."""
        now = time.time() if now is None else now
        return [pending_notice(row) for row in self.db.query(_DUE, (now, -1))]

    def claim_due(self, now: float | None = None, limit: int = 1000, lease_s: float = 60.0) -> list[PendingNotice]:
        """Up to ``limit`` due rows, hidden from every other claimer for ``lease_s`` seconds
        (one writer at a time on SQLite: the transaction makes the claim exclusive)."""
        now = time.time() if now is None else now
        with self.db.transaction() as sql:
            rows = sql.execute(_DUE, (now, limit)).fetchall()
            sql.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE chat_id = ? AND article_id = ?",
                [(now + lease_s, row["chat_id"], row["article_id"]) for row in rows],
            )
        return [pending_notice(row) for row in rows]

    def _settle(self, chat_id: int, article_ids: Sequence[str], status: Delivery, error: str | None) -> None:
        with self.db.transaction() as sql:
            sql.executemany(
                "UPDATE outbox SET status = ?, sent_at = ?, last_error = ? "
                "WHERE chat_id = ? AND article_id = ? AND status = 'pending'",
                [
                    (status.value, now_iso() if status == Delivery.SENT else None, error, chat_id, a)
                    for a in article_ids
                ],
            )

    def release(self, chat_id: int, article_ids: Sequence[str]) -> None:
        """Give claimed rows back unsent: due again at once."""
        now = time.time()
        with self.db.transaction() as sql:
            sql.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE chat_id = ? AND article_id = ? AND status = 'pending'",
                [(now, chat_id, a) for a in article_ids],
            )

    def defer(self, chat_id: int, article_ids: Sequence[str], delay_s: float, error: str) -> None:
        """Try again in ``delay_s`` seconds (after a network error or a flood limit)."""
        with self.db.transaction() as sql:
            sql.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE chat_id = ? AND article_id = ? AND status = 'pending'",
                [(time.time() + delay_s, error, chat_id, a) for a in article_ids],
            )

    def drop_chat(self, chat_id: int, reason: str) -> int:
        """Give up every pending notification of ``chat_id``; returns how many."""
        with self.db.transaction() as sql:
            return sql.execute(
                "UPDATE outbox SET status = 'dropped', last_error = ? WHERE chat_id = ? AND status = 'pending'",
                (reason, chat_id),
            ).rowcount

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its pending notifications go to the new id, due at once."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE OR IGNORE outbox SET chat_id = ?, next_attempt_at = min(next_attempt_at, ?) "
                "WHERE chat_id = ? AND status = 'pending'",
                (new_chat_id, time.time(), old_chat_id),
            )

    # --- reporting -------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Notifications waiting to be sent to chats that are still subscribed."""
        return int(
            self.db.query(
                "SELECT COUNT(*) FROM outbox o JOIN subscriptions s ON s.chat_id = o.chat_id WHERE o.status = 'pending'"
            )[0][0]
        )

    def rows(self, chat_id: int | None = None) -> list[dict[str, object]]:
        """Every outbox row (of ``chat_id``), for reports and tests."""
        where, parameters = ("WHERE chat_id = ?", (chat_id,)) if chat_id is not None else ("", ())
        return [dict(r) for r in self.db.query(f"SELECT * FROM outbox {where} ORDER BY created_at, rowid", parameters)]
