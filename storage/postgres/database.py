"""The bot's PostgreSQL database: a psycopg 3 connection pool that threads share.

    db = Database("postgresql://hoptac:secret@db/hoptac")  # checks the server and the schema first
    with db.transaction() as sql:                         # commits at the end, rolls back on error
        sql.execute("INSERT ...", parameters)
    rows = db.query("SELECT ...", parameters)             # a list of dicts
    db.close()

Every call is short and blocking, like the SQLite backend's; the bot runs them in worker
threads (``asyncio.to_thread``), each on a connection of its own from the pool. The
schema is made by ``hoptac db upgrade`` (:mod:`storage.postgres.schema`), never here:
opening a database whose schema differs from the code's raises
:class:`~storage.errors.SchemaOutOfDate` saying what to run. Connection problems raise
:class:`~storage.errors.StateStoreError` with the password taken out of the message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from storage.postgres.connection import CONNECT_TIMEOUT_S, connect, connection_error, redact
from storage.postgres.schema import check_schema

#: How long a call waits for a pooled connection. psycopg_pool's own 30 s would hold every
#: answer and job that long while the server is down; a few seconds then a StateStoreError
#: lets the bot reply without the database, and each job try again at its next run.
CONNECTION_WAIT_S = 3.0


class Database:
    """A pool of connections to one PostgreSQL database whose schema is at the code's revision."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 5) -> None:
        self._url = url
        with connect(url) as connection:
            check_schema(connection)
        self.pool: ConnectionPool[psycopg.Connection[DictRow]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            connection_class=psycopg.Connection[DictRow],
            kwargs={"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S},
            check=ConnectionPool.check_connection,  # a connection broken by a server restart is replaced
            name="hoptac-state",
            timeout=CONNECTION_WAIT_S,
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[DictRow]]:
        """All statements in the block commit together, or none do."""
        with ExitStack() as stack:
            try:
                connection = stack.enter_context(self.pool.connection())
            except PoolTimeout as exc:  # the server is down, or every connection stayed busy
                raise connection_error(exc, self._url) from exc
            yield stack.enter_context(connection.cursor())

    def query(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[DictRow]:
        with self.transaction() as cursor:
            return cursor.execute(sql, parameters).fetchall()

    def ping(self, timeout_s: float) -> None:
        """``SELECT 1`` on a pooled connection, waiting at most ``timeout_s`` for one (the
        pool's own wait is far longer); a :class:`StateStoreError` when the server is down."""
        try:
            with self.pool.connection(timeout=timeout_s) as connection:
                connection.execute("SELECT 1")
        except PoolTimeout as exc:
            raise connection_error(exc, self._url) from exc
        except psycopg.Error as exc:
            raise connection_error(exc, self._url) from exc

    def redacted(self, message: str) -> str:
        """``message`` without this database's password (for logging an error)."""
        return redact(message, self._url)

    def close(self) -> None:
        self.pool.close()
