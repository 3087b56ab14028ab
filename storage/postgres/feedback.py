"""👍/👎 on answers in PostgreSQL: the ``feedback`` table, one vote per (answer, user).

A second vote by the same user on the same answer replaces the first (and its reason).
"""

from __future__ import annotations

import json

from psycopg.types.json import Jsonb

from storage.common import dislike_counts, iso, stored_vote, vote_citations
from storage.postgres.database import Database
from storage.records import FeedbackReason, StoredVote, Vote


class PostgresFeedback:
    """:class:`storage.interfaces.FeedbackStore` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, vote: Vote) -> None:
        citations = Jsonb(vote_citations(vote))
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO feedback (answer_id, user_id, chat_id, question, result_offset, citations, vote, "
                "reason, first_quote) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (answer_id, user_id) DO UPDATE SET chat_id = excluded.chat_id, "
                "question = excluded.question, result_offset = excluded.result_offset, "
                "citations = excluded.citations, vote = excluded.vote, reason = excluded.reason, "
                "first_quote = excluded.first_quote, voted_at = now()",
                (
                    vote.answer_id,
                    vote.user_id,
                    vote.chat_id,
                    vote.question,
                    vote.result_offset,
                    citations,
                    vote.vote,
                    vote.reason.value if vote.reason else None,
                    vote.first_quote,
                ),
            )

    def votes(self) -> list[dict[str, object]]:
        """Every stored vote, oldest first, as the SQLite backend gives them (citations as JSON text)."""
        rows = self.db.query("SELECT * FROM feedback ORDER BY voted_at, answer_id, user_id")
        return [
            {**row, "citations": json.dumps(row["citations"], ensure_ascii=False), "voted_at": iso(row["voted_at"])}
            for row in rows
        ]

    def recent(self, limit: int | None = None, *, dislikes_only: bool = False) -> list[StoredVote]:
        where = "WHERE vote = -1" if dislikes_only else ""
        rows = self.db.query(
            f"SELECT * FROM feedback {where} ORDER BY voted_at DESC, answer_id DESC, user_id DESC LIMIT %s",
            (limit,),
        )
        return [stored_vote(row, row["citations"], iso(row["voted_at"]) or "") for row in rows]

    def dislikes_by_reason(self) -> dict[FeedbackReason | None, int]:
        rows = self.db.query("SELECT reason, count(*) AS votes FROM feedback WHERE vote = -1 GROUP BY reason")
        return dislike_counts(rows)
