"""What the bot remembers about its feeds: conditional-GET validators, the last poll and
its error, and every item it already added (by URL and by content hash).

    store = SQLiteFeedState(db)
    etag, last_modified = store.validators(url)
    store.record_poll(PollOutcome(url, error=None, etag='"abc"', last_modified=None, added=2))
    store.seen_keys(["https://..."]), store.seen_hashes(["3f9a..."])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.common import feed_states, now_iso
from storage.records import FeedState, PollOutcome, SeenItem
from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url           TEXT PRIMARY KEY,
    etag          TEXT,              -- sent back as If-None-Match
    last_modified TEXT,              -- sent back as If-Modified-Since
    last_poll_at  TEXT,              -- ISO 8601, UTC
    last_ok_at    TEXT,
    last_error    TEXT,              -- NULL when the last poll went well
    items_added   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_items (
    item_key     TEXT PRIMARY KEY,   -- the item's link (else its guid)
    content_hash TEXT NOT NULL,      -- sha256 of title and text: the same article under another URL
    feed_url     TEXT NOT NULL,
    article_id   TEXT NOT NULL,
    added_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_items_hash ON feed_items (content_hash);
"""


class SQLiteFeedState:
    """The ``feeds`` and ``feed_items`` tables. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) of the last complete poll of ``url``."""
        rows = self.db.query("SELECT etag, last_modified FROM feeds WHERE url = ?", (url,))
        return (rows[0]["etag"], rows[0]["last_modified"]) if rows else (None, None)

    def record_poll(self, poll: PollOutcome) -> None:
        """Store one poll's outcome; its validators only when they replace the old ones."""
        now = now_iso()
        with self.db.transaction() as sql:
            sql.execute("INSERT OR IGNORE INTO feeds (url) VALUES (?)", (poll.url,))
            sql.execute(
                "UPDATE feeds SET last_poll_at = ?, last_error = ?, items_added = items_added + ?, "
                "last_ok_at = CASE WHEN ? IS NULL THEN ? ELSE last_ok_at END WHERE url = ?",
                (now, poll.error, poll.added, poll.error, now, poll.url),
            )
            if poll.replaces_validators:
                sql.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?",
                    (poll.etag, poll.last_modified, poll.url),
                )

    def seen_keys(self, keys: Iterable[str]) -> set[str]:
        return self._present("item_key", list(keys))

    def seen_hashes(self, hashes: Iterable[str]) -> set[str]:
        return self._present("content_hash", list(hashes))

    def _present(self, column: str, values: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), 500):  # SQLite's limit on parameters
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(f"SELECT {column} FROM feed_items WHERE {column} IN ({marks})", chunk)
            found |= {row[0] for row in rows}
        return found

    def remember(self, items: Sequence[SeenItem]) -> None:
        now = now_iso()
        with self.db.transaction() as sql:
            sql.executemany(
                "INSERT OR IGNORE INTO feed_items (item_key, content_hash, feed_url, article_id, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(i.item_key, i.content_hash, i.feed_url, i.article_id, now) for i in items],
            )

    def states(self, urls: Sequence[str]) -> list[FeedState]:
        """The state of each of ``urls``, in that order (never polled: all None)."""
        return feed_states(urls, self.db.query("SELECT * FROM feeds"))
