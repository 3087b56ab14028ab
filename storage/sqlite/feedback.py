"""Feedback (👍/👎) on answers, stored with the question: the ``feedback`` table.

    store = SQLiteFeedback(db)
    store.record(Vote(answer_id="k3J9xQ", question="...", vote=1, chat_id=1, user_id=2, ...))

One row per (answer, user): voting again replaces the earlier vote. Calls are short
writes; the bot runs them in a worker thread so the event loop never waits on disk.
"""

from __future__ import annotations

import json

from storage.common import now_iso, vote_citations
from storage.records import Vote
from storage.sqlite.database import Database

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


class SQLiteFeedback:
    """The ``feedback`` table. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)

    def record(self, vote: Vote) -> None:
        citations = json.dumps(vote_citations(vote), ensure_ascii=False)
        with self.db.transaction() as sql:
            sql.execute(
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
                    now_iso(),
                ),
            )

    def votes(self) -> list[dict[str, object]]:
        """Every stored vote, oldest first (for reports and tests)."""
        return [dict(row) for row in self.db.query("SELECT * FROM feedback ORDER BY voted_at, rowid")]
