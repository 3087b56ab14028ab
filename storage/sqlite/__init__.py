"""The SQLite state store: one file (``data_dir/hoptac.sqlite3``), one connection, WAL.

state = SQLiteStateStore(Path("var/hoptac.sqlite3"))
state.subscriptions.add(...); state.outbox.due(); state.close()
"""

from __future__ import annotations

from pathlib import Path

from storage.leases import AlwaysHeld
from storage.sqlite.answer_pages import SQLiteAnswerPages
from storage.sqlite.database import Database
from storage.sqlite.feed_state import SQLiteFeedState
from storage.sqlite.feedback import SQLiteFeedback
from storage.sqlite.outbox import SQLiteOutbox
from storage.sqlite.subscriptions import SQLiteSubscriptions
from storage.sqlite.updates import SQLiteUpdateLog


class SQLiteStateStore:
    """Every part of :class:`storage.interfaces.StateStore` on one SQLite database."""

    def __init__(self, path: Path) -> None:
        self.database = Database(path)
        self.subscriptions = SQLiteSubscriptions(self.database)
        self.outbox = SQLiteOutbox(self.database)
        self.feedback = SQLiteFeedback(self.database)
        self.feeds = SQLiteFeedState(self.database)
        self.answer_pages = SQLiteAnswerPages(self.database)
        self.updates = SQLiteUpdateLog(self.database)

    def leases(self, holder: str, ttl_s: float) -> AlwaysHeld:
        """One process owns a SQLite file: every singleton is always its own."""
        return AlwaysHeld(holder)

    def ping(self, timeout_s: float) -> None:
        self.database.query("SELECT 1")  # a local file: it answers, or raises at once

    def close(self) -> None:
        self.database.close()


__all__ = ["Database", "SQLiteStateStore"]
