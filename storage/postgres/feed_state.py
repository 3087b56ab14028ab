"""What the bot remembers about its feeds, in PostgreSQL: conditional-GET validators, the
last poll and its error, and every item already added (by URL and by content hash).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.common import feed_states, iso
from storage.postgres.database import Database
from storage.records import FeedState, PollOutcome, SeenItem


class PostgresFeedState:
    """:class:`storage.interfaces.FeedStateStore` on the ``feeds`` and ``feed_items`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) of the last complete poll of ``url``."""
        rows = self.db.query("SELECT etag, last_modified FROM feeds WHERE url = %s", (url,))
        return (rows[0]["etag"], rows[0]["last_modified"]) if rows else (None, None)

    def record_poll(self, poll: PollOutcome) -> None:
        """Store one poll's outcome; its validators only when they replace the old ones."""
        with self.db.transaction() as sql:
            sql.execute("INSERT INTO feeds (url) VALUES (%s) ON CONFLICT (url) DO NOTHING", (poll.url,))
            sql.execute(
                "UPDATE feeds SET last_poll_at = now(), last_error = %(error)s, "
                "items_added = items_added + %(added)s, "
                "last_ok_at = CASE WHEN %(ok)s THEN now() ELSE last_ok_at END WHERE url = %(url)s",
                {"error": poll.error, "added": poll.added, "ok": poll.error is None, "url": poll.url},
            )
            if poll.replaces_validators:
                sql.execute(
                    "UPDATE feeds SET etag = %s, last_modified = %s WHERE url = %s",
                    (poll.etag, poll.last_modified, poll.url),
                )

    def seen_keys(self, keys: Iterable[str]) -> set[str]:
        rows = self.db.query("SELECT item_key AS v FROM feed_items WHERE item_key = ANY(%s)", (list(keys),))
        return {row["v"] for row in rows}

    def seen_hashes(self, hashes: Iterable[str]) -> set[str]:
        rows = self.db.query(
            "SELECT DISTINCT content_hash AS v FROM feed_items WHERE content_hash = ANY(%s)", (list(hashes),)
        )
        return {row["v"] for row in rows}

    def remember(self, items: Sequence[SeenItem]) -> None:
        with self.db.transaction() as sql:
            sql.executemany(
                "INSERT INTO feed_items (item_key, content_hash, feed_url, article_id) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (item_key) DO NOTHING",
                [(i.item_key, i.content_hash, i.feed_url, i.article_id) for i in items],
            )

    def states(self, urls: Sequence[str]) -> list[FeedState]:
        """The state of each of ``urls``, in that order (never polled: all None)."""
        rows = self.db.query("SELECT * FROM feeds WHERE url = ANY(%s)", (list(urls),))
        return feed_states(
            urls, ({**r, "last_poll_at": iso(r["last_poll_at"]), "last_ok_at": iso(r["last_ok_at"])} for r in rows)
        )
