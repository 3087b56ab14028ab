"""Feedback (👍/👎) on answers, stored with the question in SQLite.

    store = FeedbackStore(data_dir / "hoptac.sqlite3")
    store.record(Vote(answer_id="k3J9xQ", question="...", vote=1, chat_id=1, user_id=2, ...))

One row per (answer, user): voting again replaces the earlier vote. Calls are short
writes; the bot runs them in a worker thread so the event loop never waits on disk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id   TEXT    NOT NULL,  -- the bot's short id of the answer message
    user_id     INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,
    question    TEXT    NOT NULL,
    result_offset INTEGER NOT NULL DEFAULT 0,  -- 0 for the first answer, >0 for "more results"
    citations   TEXT    NOT NULL,  -- JSON: [{"article_id", "start", "end"}, ...]
    vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at    TEXT    NOT NULL,  -- ISO 8601, UTC
    PRIMARY KEY (answer_id, user_id)
);
"""


@dataclass(frozen=True)
class Vote:
    answer_id: str
    question: str
    vote: int  # +1 👍, -1 👎
    chat_id: int
    user_id: int
    result_offset: int = 0
    citations: tuple[tuple[str, int, int], ...] = ()  # (article_id, start, end)


class FeedbackStore:
    """A small thread-safe SQLite table of votes; opened lazily, created if missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)
            self._connection = connection
        return self._connection

    def record(self, vote: Vote) -> None:
        citations = json.dumps(
            [{"article_id": a, "start": s, "end": e} for a, s, e in vote.citations], ensure_ascii=False
        )
        with self._lock:
            connection = self._connect()
            with connection:
                connection.execute(
                    "INSERT OR REPLACE INTO feedback (answer_id, user_id, chat_id, question, result_offset, "
                    "citations, vote, voted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        vote.answer_id,
                        vote.user_id,
                        vote.chat_id,
                        vote.question,
                        vote.result_offset,
                        citations,
                        vote.vote,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                    ),
                )

    def votes(self) -> list[dict[str, object]]:
        """Every stored vote, oldest first (for reports and tests)."""
        with self._lock:
            connection = self._connect()
            connection.row_factory = sqlite3.Row
            try:
                rows = connection.execute("SELECT * FROM feedback ORDER BY voted_at, rowid").fetchall()
            finally:
                connection.row_factory = None
            return [dict(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
