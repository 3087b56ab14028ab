"""👍/👎 on answers in PostgreSQL: the ``feedback`` table, one vote per (answer, user).

A second vote by the same user on the same answer replaces the first.
"""

from __future__ import annotations

import json

from psycopg.types.json import Jsonb

from storage.common import iso, vote_citations
from storage.postgres.database import Database
from storage.records import Vote


class PostgresFeedback:
    """:class:`storage.interfaces.FeedbackStore` on PostgreSQL. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, vote: Vote) -> None:
        citations = Jsonb(vote_citations(vote))
        with self.db.transaction() as sql:
            sql.execute(
                "INSERT INTO feedback (answer_id, user_id, chat_id, question, result_offset, citations, vote) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (answer_id, user_id) DO UPDATE SET chat_id = excluded.chat_id, "
                "question = excluded.question, result_offset = excluded.result_offset, "
                "citations = excluded.citations, vote = excluded.vote, voted_at = now()",
                (vote.answer_id, vote.user_id, vote.chat_id, vote.question, vote.result_offset, citations, vote.vote),
            )

    def votes(self) -> list[dict[str, object]]:
        """Every stored vote, oldest first, as the SQLite backend gives them (citations as JSON text)."""
        rows = self.db.query("SELECT * FROM feedback ORDER BY voted_at, answer_id, user_id")
        return [
            {**row, "citations": json.dumps(row["citations"], ensure_ascii=False), "voted_at": iso(row["voted_at"])}
            for row in rows
        ]
