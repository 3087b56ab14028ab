"""Feedback (👍/👎) on answers, stored with the question: the ``feedback`` table.

    store = SQLiteFeedback(db)
    store.record(Vote(answer_id="k3J9xQ", question="...", vote=-1, chat_id=1, user_id=2,
                      first_quote="...", reason=FeedbackReason.OUTDATED))
    store.recent(10, dislikes_only=True)      # what /feedback shows admins, newest first
    store.dislikes_by_reason()                # /status and /metrics

One row per (answer, user): voting again replaces the earlier vote (and its reason). Calls
are short writes; the bot runs them in a worker thread so the event loop never waits on disk.
"""

from __future__ import annotations

import json

from storage.common import dislike_counts, now_iso, stored_vote, vote_citations
from storage.records import FeedbackReason, StoredVote, Vote
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
    reason      TEXT    CHECK (reason IN ('wrong_quote', 'not_answered', 'outdated')),  -- a 👎's, if given
    first_quote TEXT,              -- the first cited sentence, verbatim
    PRIMARY KEY (answer_id, user_id)
);
"""

#: Columns a file from before feedback reasons lacks (PostgreSQL: migration 0005).
ADDED_COLUMNS = {
    "reason": "TEXT CHECK (reason IN ('wrong_quote', 'not_answered', 'outdated'))",
    "first_quote": "TEXT",
}


class SQLiteFeedback:
    """The ``feedback`` table. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure(SCHEMA)
        with db.transaction() as sql:  # a file made before feedback reasons
            columns = {row[1] for row in sql.execute("PRAGMA table_info(feedback)")}
            for name, definition in ADDED_COLUMNS.items():
                if name not in columns:
                    sql.execute(f"ALTER TABLE feedback ADD COLUMN {name} {definition}")

    def record(self, vote: Vote) -> None:
        citations = json.dumps(vote_citations(vote), ensure_ascii=False)
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT OR REPLACE INTO feedback (answer_id, user_id, chat_id, question, result_offset, "
                "citations, vote, voted_at, reason, first_quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    vote.answer_id,
                    vote.user_id,
                    vote.chat_id,
                    vote.question,
                    vote.result_offset,
                    citations,
                    vote.vote,
                    now_iso(),
                    vote.reason.value if vote.reason else None,
                    vote.first_quote,
                ),
            )

    def votes(self) -> list[dict[str, object]]:
        """Every stored vote, oldest first (for reports and tests)."""
        return [dict(row) for row in self.db.query("SELECT * FROM feedback ORDER BY voted_at, rowid")]

    def recent(self, limit: int | None = None, *, dislikes_only: bool = False) -> list[StoredVote]:
        where = "WHERE vote = -1" if dislikes_only else ""
        rows = self.db.query(
            f"SELECT * FROM feedback {where} ORDER BY voted_at DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [stored_vote(row, json.loads(row["citations"]), row["voted_at"]) for row in rows]

    def dislikes_by_reason(self) -> dict[FeedbackReason | None, int]:
        rows = self.db.query("SELECT reason, count(*) AS votes FROM feedback WHERE vote = -1 GROUP BY reason")
        return dislike_counts(rows)
