"""The bot's SQLite database (``data_dir/hoptac.sqlite3``): one connection, one lock.

    db = Database(config.database_path)
    db.ensure(SCHEMA)                      # each store creates its own tables
    with db.transaction() as sql:          # BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error
        sql.execute("INSERT ...")
    rows = db.query("SELECT ...")

Statements are short; the bot runs them in worker threads (``asyncio.to_thread``), so
the connection is shared between threads behind a lock. WAL mode lets ``hoptac`` commands
and backups read the file while the bot writes it. A committed transaction survives a
crash of the bot (``synchronous=FULL``): the outbox's exactly-once promise rests on it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Database:
    """A lazily opened SQLite connection that threads take turns on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._schemas: list[str] = []

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; `transaction()` says where they are.
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            for schema in self._schemas:
                connection.executescript(schema)
            self._connection = connection
        return self._connection

    def ensure(self, schema: str) -> None:
        """Create the tables in ``schema`` (``CREATE TABLE IF NOT EXISTS ...``) when first opened."""
        with self._lock:
            self._schemas.append(schema)
            if self._connection is not None:
                self._connection.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements in the block commit together, or none do."""
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connect().execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
