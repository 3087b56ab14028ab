"""The ingest queue: what the search engine still has to be told about the articles.

    queue = IngestQueue(db)
    jobs = queue.claim("worker-1", limit=16, lease_s=300)   # FOR UPDATE SKIP LOCKED: disjoint per claimer
    queue.complete([j.id for j in jobs], "worker-1")        # only jobs still claimed by worker-1
    queue.fail(ids, "worker-1", "Milvus: timeout")          # queued again, or 'failed' after MAX_ATTEMPTS
    queue.depth(); queue.batch_progress("ingest-...")

Jobs are queued by :mod:`storage.postgres.articles` in the transaction that changes the
article. A claim is a lease on the server's clock: a worker that dies leaves its jobs
``running`` until ``claimed_until``, after which any worker claims them again (and the
dead worker's late ``complete`` changes nothing). A newer job for an article supersedes
its older queued ones, so a stale version is never indexed after a newer one; a job
already running when its article changes is superseded by the worker itself, which checks
the article's hash under the writer's lock before writing (:mod:`ingest_service.worker`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import Cursor

from storage.postgres.database import Database

Action = Literal["put", "remove"]

#: Claims of one job before it is given up as 'failed' (a worker killed by it counts too).
MAX_ATTEMPTS = 5
#: A failed job is claimed again after this long, times its attempts so far.
RETRY_DELAY_S = 5.0
#: Longest error text kept on a job.
ERROR_CHARS = 500


@dataclass(frozen=True)
class Job:
    """One claimed job: make ``article_id`` searchable at ``content_hash`` (put) or not at all (remove)."""

    id: int
    batch: str
    article_id: str
    action: Action
    content_hash: str | None
    attempts: int


@dataclass(frozen=True)
class BatchProgress:
    """A batch's articles, each counted by the newest job for it (a later batch's may settle it)."""

    done: int
    failed: int
    total: int

    @property
    def settled(self) -> bool:
        return self.done + self.failed >= self.total


def enqueue(sql: Cursor[Any], batch: str, items: Sequence[tuple[str, Action, str | None]]) -> None:
    """In the caller's transaction: queue (article id, action, content hash) jobs, superseding
    the articles' older queued jobs."""
    if not items:
        return
    ids = [item[0] for item in items]
    sql.execute(
        "UPDATE ingest_jobs SET state = 'superseded', finished_at = now(), claimed_until = NULL "
        "WHERE article_id = ANY(%s) AND state = 'queued'",
        (ids,),
    )
    sql.execute(
        "INSERT INTO ingest_jobs (batch, article_id, action, content_hash) "
        "SELECT %s, src.article_id, src.action, src.content_hash "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS src (article_id, action, content_hash, n) "
        "ORDER BY n",
        (batch, ids, [item[1] for item in items], [item[2] for item in items]),
    )


_GIVE_UP = """
UPDATE ingest_jobs SET state = 'failed', finished_at = now(), claimed_by = NULL,
       error = 'its worker stopped before finishing it ' || attempts || ' times'
WHERE state = 'running' AND claimed_until <= clock_timestamp() AND attempts >= %(max)s
"""

_CLAIM = """
UPDATE ingest_jobs SET state = 'running', claimed_by = %(worker)s, attempts = attempts + 1,
       claimed_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE id IN (
    SELECT id FROM ingest_jobs
    WHERE (state = 'queued' AND (claimed_until IS NULL OR claimed_until <= clock_timestamp()))
       OR (state = 'running' AND claimed_until <= clock_timestamp())
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, batch, article_id, action, content_hash, attempts
"""


class IngestQueue:
    """The ``ingest_jobs`` table. Blocking calls, each its own transaction."""

    def __init__(self, db: Database, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.db = db
        self.max_attempts = max_attempts

    def claim(self, worker: str, limit: int, lease_s: float) -> list[Job]:
        """Up to ``limit`` jobs, oldest first: queued ones and running ones whose claim lapsed;
        rows another claimer has locked are skipped, so two claimers never get the same job."""
        with self.db.transaction() as sql:
            sql.execute(_GIVE_UP, {"max": self.max_attempts})
            rows = sql.execute(_CLAIM, {"worker": worker, "lease": lease_s, "limit": limit}).fetchall()
        jobs = [
            Job(row["id"], row["batch"], row["article_id"], row["action"], row["content_hash"], row["attempts"])
            for row in rows
        ]
        return sorted(jobs, key=lambda job: job.id)

    def complete(self, job_ids: Sequence[int], worker: str, sql: Cursor[Any] | None = None) -> list[int]:
        """Mark done the jobs still claimed by ``worker`` (a lapsed claim taken by another is
        left to it); the ids marked. With ``sql``: inside the caller's transaction."""
        return self._settle("done", job_ids, worker, sql)

    def supersede(self, job_ids: Sequence[int], worker: str, sql: Cursor[Any] | None = None) -> list[int]:
        """Running jobs of ``worker`` whose article changed since: a newer job does the work."""
        return self._settle("superseded", job_ids, worker, sql)

    def _settle(self, state: str, job_ids: Sequence[int], worker: str, sql: Cursor[Any] | None) -> list[int]:
        statement = (
            "UPDATE ingest_jobs SET state = %s, finished_at = now(), claimed_until = NULL, error = NULL "
            "WHERE id = ANY(%s) AND state = 'running' AND claimed_by = %s RETURNING id"
        )
        parameters = (state, list(job_ids), worker)
        if sql is not None:
            return [first_column(row) for row in sql.execute(statement, parameters).fetchall()]
        return [first_column(row) for row in self.db.query(statement, parameters)]

    def still_mine(self, job_ids: Sequence[int], worker: str, lease_s: float, sql: Cursor[Any]) -> list[int]:
        """Inside the writer's transaction: the jobs ``worker`` still holds, their claims renewed and locked."""
        rows = sql.execute(
            "UPDATE ingest_jobs SET claimed_until = clock_timestamp() + make_interval(secs => %s) "
            "WHERE id = ANY(%s) AND state = 'running' AND claimed_by = %s RETURNING id",
            (lease_s, list(job_ids), worker),
        ).fetchall()
        return [first_column(row) for row in rows]

    def fail(self, job_ids: Sequence[int], worker: str, error: str) -> list[int]:
        """The jobs of ``worker`` that went wrong: queued again after a delay, or 'failed' once
        they have had ``max_attempts`` claims; the ids given up."""
        rows = self.db.query(
            "UPDATE ingest_jobs SET claimed_by = NULL, error = %(error)s, "
            "  state = CASE WHEN attempts >= %(max)s THEN 'failed' ELSE 'queued' END, "
            "  finished_at = CASE WHEN attempts >= %(max)s THEN now() END, "
            "  claimed_until = CASE WHEN attempts >= %(max)s THEN NULL "
            "    ELSE clock_timestamp() + make_interval(secs => %(delay)s * attempts) END "
            "WHERE id = ANY(%(ids)s) AND state = 'running' AND claimed_by = %(worker)s RETURNING id, state",
            {"error": error[:ERROR_CHARS], "max": self.max_attempts, "delay": RETRY_DELAY_S,
             "ids": list(job_ids), "worker": worker},
        )  # fmt: skip
        return [row["id"] for row in rows if row["state"] == "failed"]

    def release(self, job_ids: Sequence[int], worker: str) -> list[int]:
        """Give back jobs ``worker`` claimed but will not finish (it is stopping): queued again at
        once, the claim not counted as an attempt."""
        rows = self.db.query(
            "UPDATE ingest_jobs SET state = 'queued', claimed_by = NULL, claimed_until = NULL, "
            "attempts = greatest(attempts - 1, 0) "
            "WHERE id = ANY(%s) AND state = 'running' AND claimed_by = %s RETURNING id",
            (list(job_ids), worker),
        )
        return [row["id"] for row in rows]

    def newest_id(self) -> int:
        """The id of the newest job (0 when there is none)."""
        rows = self.db.query("SELECT coalesce(max(id), 0) AS n FROM ingest_jobs")
        return int(rows[0]["n"])

    def settle_rebuilt(self, up_to: int) -> int:
        """A full rebuild read every live article after job ``up_to`` was queued: the jobs up to
        it that nobody has claimed are done (their version, or a newer one, is in the rebuilt
        index); returns how many. A claimed one is left to its worker (writing it again is harmless)."""
        with self.db.transaction() as sql:
            sql.execute(
                "UPDATE ingest_jobs SET state = 'done', finished_at = now() WHERE id <= %s AND state = 'queued'",
                (up_to,),
            )
            return sql.rowcount

    def depth(self) -> int:
        """Jobs queued or running: the "ingest queue depth"."""
        rows = self.db.query("SELECT count(*) AS n FROM ingest_jobs WHERE state IN ('queued', 'running')")
        return int(rows[0]["n"])

    def batch_progress(self, batch: str) -> BatchProgress:
        """How many of ``batch``'s articles are settled: the newest job for each (a later batch's job
        supersedes this one's) is done, or failed."""
        rows = self.db.query(
            """
            SELECT count(*) FILTER (WHERE state = 'done') AS done,
                   count(*) FILTER (WHERE state = 'failed') AS failed,
                   count(*) AS total
            FROM (
                SELECT DISTINCT ON (j.article_id) j.state
                FROM ingest_jobs j
                WHERE j.article_id IN (SELECT article_id FROM ingest_jobs WHERE batch = %s)
                ORDER BY j.article_id, j.id DESC
            ) AS newest
            """,
            (batch,),
        )
        row = rows[0]
        return BatchProgress(int(row["done"]), int(row["failed"]), int(row["total"]))

    def errors(self, batch: str) -> list[tuple[str, str]]:
        """(article id, error) of ``batch``'s failed jobs."""
        rows = self.db.query(
            "SELECT article_id, coalesce(error, '') AS error FROM ingest_jobs "
            "WHERE batch = %s AND state = 'failed' ORDER BY id",
            (batch,),
        )
        return [(row["article_id"], row["error"]) for row in rows]


def first_column(row: Any) -> Any:
    """The first column of a row, whichever row factory made it."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


__all__ = ["MAX_ATTEMPTS", "Action", "BatchProgress", "IngestQueue", "Job", "enqueue", "first_column"]
