"""The answer pages behind inline buttons: the ``answer_pages`` table.

Telegram allows 64 bytes of ``callback_data``: too little for a question, so a button
carries only an action and the id of its answer page (``more:Xk3J9xQa``) and the bot
keeps the rest here, so a button still works after a restart. The most recent
``capacity`` pages are kept; a button on an older answer gets a polite "ask again".

    pages = SQLiteAnswerPages(db)
    page_id = pages.add(AnswerPage("câu hỏi", chat_id=1, user_id=2, offset=0, citations=cited))
    pages.get(page_id)
"""

from __future__ import annotations

import json
import sqlite3
import time

from storage.common import answer_page, keep_under_new_id, page_citations
from storage.records import AnswerPage
from storage.sqlite.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS answer_pages (
    page_id       TEXT    PRIMARY KEY,  -- 8 URL-safe characters, carried by the buttons
    question      TEXT    NOT NULL,
    chat_id       INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    result_offset INTEGER NOT NULL,
    citations     TEXT    NOT NULL,     -- JSON list of the citations shown
    created_at    REAL    NOT NULL      -- Unix time
);
"""


class SQLiteAnswerPages:
    """Answer pages by id, the newest ``capacity`` of them. Blocking calls: run them in a worker thread."""

    def __init__(self, db: Database, capacity: int = 5000) -> None:
        self.db = db
        self.capacity = capacity
        db.ensure(SCHEMA)

    def add(self, page: AnswerPage) -> str:
        citations = json.dumps(page_citations(page), ensure_ascii=False)

        def insert(page_id: str) -> bool:
            try:
                with self.db.transaction() as sql:
                    sql.execute(
                        "INSERT INTO answer_pages (page_id, question, chat_id, user_id, result_offset, citations, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (page_id, page.question, page.chat_id, page.user_id, page.offset, citations, time.time()),
                    )
                    sql.execute(
                        "DELETE FROM answer_pages WHERE rowid <= (SELECT MAX(rowid) FROM answer_pages) - ?",
                        (self.capacity,),
                    )
            except sqlite3.IntegrityError:  # the id is taken
                return False
            return True

        return keep_under_new_id(insert)

    def get(self, page_id: str) -> AnswerPage | None:
        rows = self.db.query("SELECT * FROM answer_pages WHERE page_id = ?", (page_id,))
        return answer_page(rows[0], json.loads(rows[0]["citations"])) if rows else None

    def clear(self) -> None:
        with self.db.transaction() as sql:
            sql.execute("DELETE FROM answer_pages")

    def __len__(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM answer_pages")[0][0])
