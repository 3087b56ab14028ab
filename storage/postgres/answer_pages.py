"""The answer pages behind inline buttons, in PostgreSQL, so a button works on any replica
and after a restart. The newest ``capacity`` pages are kept (by insertion order, ``seq``).
"""

from __future__ import annotations

from psycopg.types.json import Jsonb

from storage.common import answer_page, keep_under_new_id, page_citations
from storage.postgres.database import Database
from storage.records import AnswerPage


class PostgresAnswerPages:
    """:class:`storage.interfaces.AnswerPageStore` on the ``answer_pages`` table."""

    def __init__(self, db: Database, capacity: int = 5000) -> None:
        self.db = db
        self.capacity = capacity

    def add(self, page: AnswerPage) -> str:
        citations = Jsonb(page_citations(page))

        def insert(page_id: str) -> bool:
            with self.db.transaction() as sql:
                sql.execute(
                    "INSERT INTO answer_pages (page_id, question, chat_id, user_id, result_offset, citations) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (page_id) DO NOTHING",
                    (page_id, page.question, page.chat_id, page.user_id, page.offset, citations),
                )
                if sql.rowcount != 1:  # the id is taken
                    return False
                sql.execute(
                    "DELETE FROM answer_pages WHERE seq <= (SELECT max(seq) FROM answer_pages) - %s",
                    (self.capacity,),
                )
            return True

        return keep_under_new_id(insert)

    def get(self, page_id: str) -> AnswerPage | None:
        rows = self.db.query("SELECT * FROM answer_pages WHERE page_id = %s", (page_id,))
        return answer_page(rows[0], rows[0]["citations"]) if rows else None  # JSONB arrives decoded

    def clear(self) -> None:
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM answer_pages")

    def __len__(self) -> int:
        return int(self.db.query("SELECT COUNT(*) AS n FROM answer_pages")[0]["n"])
