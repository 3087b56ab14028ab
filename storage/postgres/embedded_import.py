"""Moving an embedded deployment's state into PostgreSQL: `hoptac db import-embedded`.

    report = import_embedded(Path("var/hoptac.sqlite3"), url)            # into an empty database
    report = import_embedded(path, url, merge=True)                       # beside state already there
    print("\\n".join(report.lines()))                                      # one line per kind of state

Every table the SQLite store keeps (:mod:`storage.sqlite`) is copied, table by table, into
its PostgreSQL twin (the migrations of :mod:`storage.postgres.schema`), keeping what the
interfaces cannot set: when a chat subscribed, which articles were announced or taken as
the baseline, where each notification stands (pending, sent, dropped, failed, its
attempts and next try), the conditional-GET validators, the answer pages' ids (the
buttons already sent keep working) and the Telegram updates already taken.

- **One transaction** on the PostgreSQL side, with the state tables locked against
  writers: a failure half-way (a value PostgreSQL refuses, a lost connection) leaves the
  database as it was, and :class:`ImportFailed` says so.
- **The SQLite file is only read**: opened ``immutable`` when no ``-wal`` file is beside
  it (the bot stopped cleanly: nothing is created or locked), else read-only (a crashed
  bot's write-ahead log holds committed state that must come along). One read
  transaction, so the tables are one snapshot.
- **Refused** (:class:`~storage.errors.StateStoreError`, one line) when the file is absent
  or is not a hoptac state file, when the schema is not the code's (``hoptac db
  upgrade``), and when the database already holds state, unless ``merge``.
- **Merge** (``merge=True``) keeps both sides and never announces anything twice: a row
  already in PostgreSQL stays, except where the SQLite row is known to be newer news:
  a notification settled (sent, dropped, failed) there but pending here is settled; the
  later vote of a user on an answer wins; the later poll of a feed gives its validators;
  the earlier baseline moment stays; an update answered there counts as answered. Running
  it twice copies nothing the second time.

With ``corpus_dir``, the corpus folder's articles are copied too, into ``articles`` (the
system of record with PostgreSQL), each with a ``put`` job for the workers
(`hoptac worker`), in the same transaction; a folder with a file that cannot be read is
refused before anything is written. Nothing is announced again: the announced set came
across with the rest of the state, and the workers announce nothing. The search index is
not copied (the workers build it from the articles).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from retrieval.articles.corpus import ArticleFormatError, read_corpus
from retrieval.models import Article
from storage.errors import StateStoreError
from storage.postgres.articles import entrance, upsert_in
from storage.postgres.connection import connect, connection_error, redact
from storage.postgres.schema import check_schema

#: Tables the corpus folder's articles go to (locked with the state tables).
CORPUS_TABLES = ("articles", "ingest_jobs")
#: Rows sent to PostgreSQL per statement.
CHUNK_ROWS = 5000
#: How long the import waits for a bot's transaction to let go of a table before giving up.
LOCK_TIMEOUT = "30s"


class ImportFailed(StateStoreError):
    """The copy failed part-way; nothing was written (the transaction was rolled back)."""


@dataclass(frozen=True)
class Column:
    """One column, the same name on both sides.

    ``array`` is the PostgreSQL type its values are sent as (an array of them per
    statement); ``into`` turns a sent value (``{}``) into the column's type; ``missing``
    is what an older SQLite file without the column gives instead.
    """

    name: str
    array: str
    into: str = "{}"
    missing: str = "NULL"


_ISO = "{}::timestamptz"  # ISO 8601 text, as the SQLite store writes moments
_UNIX = "to_timestamp({})"  # Unix time (REAL), as the SQLite store writes deadlines


@dataclass(frozen=True)
class Table:
    """One kind of state: how its SQLite rows become PostgreSQL rows."""

    kind: str  # in the summary: "subscriptions", "notifications", ...
    name: str  # the same table name on both sides
    columns: tuple[Column, ...]
    order: str  # SQLite ORDER BY: answer pages keep their age (the newest are kept)
    merge: str  # ON CONFLICT clause for --merge
    breakdown: Callable[[dict[str, Any]], str] | None = None

    def insert(self, merge: bool) -> sql.Composed:
        names = [c.name for c in self.columns]
        sent = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(c.array)) for c in self.columns)
        values = sql.SQL(", ").join(
            sql.SQL(c.into.format("src.{}")).format(sql.Identifier(c.name)) for c in self.columns
        )
        return sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {values} FROM unnest({sent}) WITH ORDINALITY "
            "AS src ({names}, ordinal) ORDER BY ordinal {conflict}"
        ).format(
            table=sql.Identifier(self.name),
            names=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=values,
            sent=sent,
            conflict=sql.SQL(self.merge if merge else ""),
        )


def _latest(*columns: str) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns)


#: Every table of the SQLite store, parents before the rows that refer to them.
TABLES: tuple[Table, ...] = (
    Table(
        "subscriptions",
        "subscriptions",
        (
            Column("chat_id", "bigint"),
            Column("chat_type", "text"),
            Column("title", "text"),
            Column("subscribed_by", "bigint"),
            Column("subscribed_at", "text", _ISO),
        ),
        order="chat_id",
        merge="ON CONFLICT (chat_id) DO NOTHING",
    ),
    Table(
        "subscription filters",
        "subscription_filters",  # absent from a file older than filters: its chats hear everything
        (
            Column("chat_id", "bigint"),
            Column("kind", "text"),
            Column("value", "text"),
            Column("added_by", "bigint"),
            Column("added_at", "text", _ISO),
        ),
        order="rowid",
        merge="ON CONFLICT (chat_id, kind, value) DO NOTHING",  # a chat subscribed on both sides keeps both's
    ),
    Table(
        "announced articles",
        "announced_articles",
        (
            Column("article_id", "text"),
            Column("first_seen", "text", _ISO),
            Column("baseline", "integer", "{}::boolean"),
            Column("title", "text"),
            Column("url", "text"),
            Column("published", "text"),
            Column("source", "text"),
            Column("lead", "text"),
            Column("summary_only", "integer", "{}::boolean"),
        ),
        order="rowid",
        merge="ON CONFLICT (article_id) DO NOTHING",  # seen on either side: never announced again
        breakdown=lambda row: "baseline" if row["baseline"] else "announced",
    ),
    Table(
        "notifications",
        "outbox",
        (
            Column("chat_id", "bigint"),
            Column("article_id", "text"),
            Column("status", "text"),
            Column("attempts", "integer"),
            Column("next_attempt_at", "float8", _UNIX),
            Column("created_at", "text", _ISO),
            Column("sent_at", "text", _ISO),
            Column("last_error", "text"),
        ),
        order="rowid",
        # Settled beats pending: a notification sent from SQLite is not sent again.
        merge="ON CONFLICT (chat_id, article_id) DO UPDATE SET "
        + _latest("status", "attempts", "next_attempt_at", "sent_at", "last_error")
        + " WHERE outbox.status = 'pending' AND excluded.status <> 'pending'",
        breakdown=lambda row: str(row["status"]),
    ),
    Table(
        "outbox markers",
        "outbox_meta",
        (Column("key", "text"), Column("value", "text")),
        order="key",
        # The one marker is the baseline's moment: the earlier stays.
        merge="ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE excluded.value < outbox_meta.value",
    ),
    Table(
        "feedback votes",
        "feedback",
        (
            Column("answer_id", "text"),
            Column("user_id", "bigint"),
            Column("chat_id", "bigint"),
            Column("question", "text"),
            Column("result_offset", "integer"),
            Column("citations", "text", "{}::jsonb"),
            Column("vote", "smallint"),
            Column("voted_at", "text", _ISO),
            Column("reason", "text"),  # NULL from a file older than feedback reasons
            Column("first_quote", "text"),
        ),
        order="rowid",
        merge="ON CONFLICT (answer_id, user_id) DO UPDATE SET "
        + _latest("chat_id", "question", "result_offset", "citations", "vote", "voted_at", "reason", "first_quote")
        + " WHERE excluded.voted_at > feedback.voted_at",  # voting again replaces the earlier vote
    ),
    Table(
        "feeds",
        "feeds",
        (
            Column("url", "text"),
            Column("etag", "text"),
            Column("last_modified", "text"),
            Column("last_poll_at", "text", _ISO),
            Column("last_ok_at", "text", _ISO),
            Column("last_error", "text"),
            Column("items_added", "integer"),
        ),
        order="url",
        merge="ON CONFLICT (url) DO UPDATE SET "
        + _latest("etag", "last_modified", "last_poll_at", "last_ok_at", "last_error", "items_added")
        + " WHERE feeds.last_poll_at IS NULL OR excluded.last_poll_at > feeds.last_poll_at",
    ),
    Table(
        "feed items",
        "feed_items",
        (
            Column("item_key", "text"),
            Column("content_hash", "text"),
            Column("feed_url", "text"),
            Column("article_id", "text"),
            Column("added_at", "text", _ISO),
        ),
        order="rowid",
        merge="ON CONFLICT (item_key) DO NOTHING",
    ),
    Table(
        "answer pages",
        "answer_pages",
        (
            Column("page_id", "text"),
            Column("question", "text"),
            Column("chat_id", "bigint"),
            Column("user_id", "bigint"),
            Column("result_offset", "integer"),
            Column("citations", "text", "{}::jsonb"),
            Column("created_at", "float8", _UNIX),
        ),
        order="rowid",  # oldest first: PostgreSQL's seq, which decides which pages are kept, follows
        merge="ON CONFLICT (page_id) DO NOTHING",
    ),
    Table(
        "processed updates",
        "processed_updates",
        (
            Column("update_id", "bigint"),
            Column("replica", "text"),
            Column("taken_at", "float8", _UNIX),
            Column("answered_at", "float8", _UNIX, missing="taken_at"),  # a file older than the column
        ),
        order="update_id",
        merge="ON CONFLICT (update_id) DO UPDATE SET answered_at = excluded.answered_at "
        "WHERE processed_updates.answered_at IS NULL AND excluded.answered_at IS NOT NULL",
    ),
)


@dataclass(frozen=True)
class Copied:
    """What happened to one kind of state."""

    kind: str
    found: int  # rows in the SQLite file
    copied: int  # rows written into PostgreSQL (inserted, or replacing an older row when merging)
    breakdown: dict[str, int] = field(default_factory=dict)

    def line(self, merge: bool) -> str:
        text = f"{self.kind}: {self.copied} copied"
        if merge and self.found != self.copied:
            text += f", {self.found - self.copied} already there"
        if self.breakdown:
            text += " (" + ", ".join(f"{n} {label}" for label, n in sorted(self.breakdown.items())) + ")"
        return text


@dataclass(frozen=True)
class ImportReport:
    """What ``import_embedded`` copied, kind by kind, in the order of :data:`TABLES`."""

    source: Path
    merge: bool
    dry_run: bool
    kinds: tuple[Copied, ...]

    def lines(self) -> list[str]:
        lines = [k.line(self.merge) for k in self.kinds]
        if self.dry_run:
            lines.append("dry run: nothing was written to PostgreSQL (rolled back)")
        else:
            lines.append(f"imported {self.source} into PostgreSQL in one transaction; the SQLite file was not changed")
        return lines


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def import_embedded(
    source: Path, url: str, *, merge: bool = False, dry_run: bool = False, corpus_dir: Path | None = None
) -> ImportReport:
    """Copy the SQLite state file ``source`` (and the articles of ``corpus_dir``) into the
    PostgreSQL database at ``url``.

    Raises :class:`~storage.errors.StateStoreError` (one line, no password) when refused,
    :class:`ImportFailed` when the copy failed and was rolled back.
    """
    articles = _corpus_articles(corpus_dir) if corpus_dir is not None else None
    with _open_sqlite(source) as state:
        present = _tables_in(state)
        if not present & {t.name for t in TABLES}:
            raise StateStoreError(f"{source} holds no hoptac state (none of its tables): nothing to import")
        with closing(connect(url)) as connection:
            try:
                check_schema(connection)
            except psycopg.Error as exc:
                raise connection_error(exc, url) from None
            try:
                with connection.transaction():
                    kinds = _copy_all(state, present, connection, merge=merge, corpus=articles is not None)
                    if articles is not None:
                        kinds.append(_copy_articles(articles, connection))
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                pass
            except psycopg.errors.LockNotAvailable:
                raise ImportFailed(
                    "the state tables stayed busy: stop the bots using this PostgreSQL database and try again "
                    "(nothing was written)"
                ) from None
            except psycopg.Error as exc:
                cause = " ".join(redact(str(exc), url).split()) or type(exc).__name__
                raise ImportFailed(f"the import failed and PostgreSQL was left as it was: {cause}") from None
    return ImportReport(source=source, merge=merge, dry_run=dry_run, kinds=tuple(kinds))


@contextmanager
def _open_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """The state file, read only, in one read transaction; a one-line refusal when it cannot be read."""
    if not path.is_file():
        raise StateStoreError(f"no SQLite state at {path} (an embedded deployment keeps it in DATA_DIR/hoptac.sqlite3)")
    # Without a write-ahead log beside it the file is all there is: `immutable` reads it
    # without creating -wal/-shm files or taking locks. With one (a bot running or crashed),
    # committed transactions may still be in the log, which only a read-only open applies.
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    except sqlite3.Error as exc:
        raise StateStoreError(f"cannot read the SQLite state at {path}: {exc}") from None
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN")  # one snapshot for every table
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        yield connection
    except sqlite3.Error as exc:
        raise StateStoreError(f"cannot read the SQLite state at {path}: {exc}") from None
    finally:
        connection.close()


def _tables_in(state: sqlite3.Connection) -> set[str]:
    return {row[0] for row in state.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _corpus_articles(corpus_dir: Path) -> list[Article]:
    """The corpus folder's articles as the system of record takes them; refused (nothing written)
    when a file cannot be read."""
    read = read_corpus(corpus_dir)
    if read.failures:
        path, reason = read.failures[0]
        raise StateStoreError(
            f"the corpus folder holds a file that cannot be read ({path}: {reason}): fix or move it, "
            "then import again (nothing was written)"
        )
    try:
        return [entrance(article) for article in read.articles]
    except ArticleFormatError as exc:
        raise StateStoreError(f"the corpus folder's article {exc.origin} cannot be stored: {exc.reason}") from None


def _copy_articles(articles: list[Article], connection: psycopg.Connection[Any]) -> Copied:
    with connection.cursor(row_factory=dict_row) as cursor:
        # An article PostgreSQL already has stays as it is there (merging: it may be the newer).
        ids = [a.id for a in articles]
        there = {r["id"] for r in cursor.execute("SELECT id FROM articles WHERE id = ANY(%s)", (ids,)).fetchall()}
        fresh = [a for a in articles if a.id not in there]
        written = upsert_in(cursor, fresh, f"import-embedded-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    breakdown = {"queued for indexing": len(written)} if written else {}
    return Copied("articles (corpus folder)", len(articles), len(written), breakdown)


def _copy_all(
    state: sqlite3.Connection, present: set[str], connection: psycopg.Connection[Any], *, merge: bool, corpus: bool
) -> list[Copied]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL timezone = 'UTC'")  # a moment written without an offset is UTC
        cursor.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        # Writers wait (readers do not) until the copy commits: the emptiness checked below
        # stays true, and no bot sees half of the state.
        locked = [t.name for t in TABLES] + (list(CORPUS_TABLES) if corpus else [])
        names = sql.SQL(", ").join(sql.Identifier(name) for name in locked)
        cursor.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(names))
        if not merge:
            _refuse_unless_empty(cursor, corpus)
        return [_copy(state, present, table, cursor, merge=merge) for table in TABLES]


def _refuse_unless_empty(cursor: psycopg.Cursor[Any], corpus: bool) -> None:
    held = []
    kinds = [(t.name, t.kind) for t in TABLES] + ([("articles", "articles")] if corpus else [])
    for name, kind in kinds:
        count = cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
        if count and count[0]:
            held.append(f"{count[0]} {kind}")
    if held:
        raise StateStoreError(
            f"the PostgreSQL database already holds hoptac state ({', '.join(held)}): import into an empty one, "
            "or add --merge to keep both"
        )


def _copy(
    state: sqlite3.Connection, present: set[str], table: Table, cursor: psycopg.Cursor[Any], *, merge: bool
) -> Copied:
    if table.name not in present:  # a file from a hoptac that did not keep this yet
        return Copied(table.kind, 0, 0)
    has = {row[1] for row in state.execute(f'PRAGMA table_info("{table.name}")')}
    selected = ", ".join(c.name if c.name in has else f"{c.missing} AS {c.name}" for c in table.columns)
    rows = state.execute(f'SELECT {selected} FROM "{table.name}" ORDER BY {table.order}')
    statement = table.insert(merge)
    found = copied = 0
    breakdown: Counter[str] = Counter()
    while chunk := rows.fetchmany(CHUNK_ROWS):
        found += len(chunk)
        if table.breakdown is not None:
            breakdown.update(table.breakdown(dict(row)) for row in chunk)
        cursor.execute(statement, _by_column(chunk, len(table.columns)))
        copied += max(cursor.rowcount, 0)
    return Copied(table.kind, found, copied, dict(breakdown))


def _by_column(rows: Sequence[sqlite3.Row], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


__all__ = ["TABLES", "Copied", "ImportFailed", "ImportReport", "import_embedded"]
