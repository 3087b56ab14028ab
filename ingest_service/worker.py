"""`hoptac worker`: keeps the search index in line with the articles in PostgreSQL.

    worker = IngestWorker("host/worker-1", db, SearchEngineTarget(indexer, ArticleStore(db)))
    worker.run()                                 # until worker.stop is set (SIGTERM, SIGINT)
    worker.run(drain=True)                       # `--once`: until nothing is left to claim
    worker.run(until=lambda: queue.batch_progress(batch).settled)   # `hoptac ingest`

Each round claims a few jobs (:class:`storage.postgres.ingest_jobs.IngestQueue`), embeds
their articles with no lock held (any number of workers embed at once), then writes them
under a PostgreSQL advisory transaction lock, so one writer at a time changes the index,
and marks them done in that same transaction. Under the lock the worker first checks that
it still holds each job (a claim that lapsed belongs to another worker now) and that the
article is still the version it embedded; a job whose article changed since is superseded
(the newer job writes the newer version), so an older version never lands after a newer one.

A worker killed outright leaves its jobs claimed until the lease lapses; another worker
then takes them. Writes are idempotent, so a job written twice leaves one copy.

Two targets: a shared search engine (:class:`SearchEngineTarget`, an
:class:`~retrieval.engine.ArticleIndexer` such as Milvus), or, without one, the
local index derived from the corpus folder (:class:`LocalIndexTarget`: the folder is
brought in line with PostgreSQL, then the engine's usual incremental ingest runs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from psycopg import Cursor

from retrieval.articles.corpus import ArticleFormatError, read_corpus, remove_article, save_article
from retrieval.engine import ArticleIndexer, PreparedArticles
from storage.postgres.articles import ArticleStore, content_hash
from storage.postgres.database import Database
from storage.postgres.ingest_jobs import IngestQueue, Job

if TYPE_CHECKING:
    from retrieval.local.engine import LocalEngine

log = logging.getLogger(__name__)

#: pg_advisory_xact_lock key held while writing to the index ("hoptad": beside the migrations' "hoptac").
INDEX_WRITER_LOCK = 0x686F70746164
BATCH_SIZE = 16
LEASE_S = 300.0
POLL_S = 2.0


@dataclass
class Outcome:
    """What writing one round did: jobs done, jobs whose article changed since they were queued."""

    done: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    written: int = 0
    removed: int = 0


class Target(Protocol):
    """Where a worker's jobs end up."""

    def prepare(self, jobs: Sequence[Job]) -> Any:
        """The slow part, outside the writer's lock (embedding)."""

    def write(self, prepared: Any, jobs: Sequence[Job], sql: Cursor[Any]) -> Outcome:
        """Under the writer's lock, in the transaction that completes ``jobs`` (all still held)."""

    def close(self) -> None: ...


def _current(jobs: Sequence[Job], sql: Cursor[Any]) -> tuple[list[Job], list[Job]]:
    """(jobs whose article is still as the job says, jobs superseded by a change since)."""
    ids = list({job.article_id for job in jobs})
    rows = sql.execute("SELECT id, content_hash, deleted FROM articles WHERE id = ANY(%s)", (ids,)).fetchall()
    state = {row["id"]: (row["content_hash"], row["deleted"]) for row in rows}
    current: list[Job] = []
    stale: list[Job] = []
    for job in jobs:
        found = state.get(job.article_id)
        if job.action == "put":
            ok = found is not None and not found[1] and found[0] == job.content_hash
        else:
            ok = found is None or bool(found[1])
        (current if ok else stale).append(job)
    return current, stale


class SearchEngineTarget:
    """Jobs written to a shared search engine (an :class:`ArticleIndexer`)."""

    def __init__(self, indexer: ArticleIndexer[Any], store: ArticleStore, owns_indexer: bool = True) -> None:
        """``owns_indexer``: close it with the target (False: it is lent, e.g. an engine's own)."""
        self.indexer = indexer
        self.store = store
        self.owns_indexer = owns_indexer

    def prepare(self, jobs: Sequence[Job]) -> PreparedArticles | None:
        """The put jobs' articles embedded, those still at the job's version (a changed one is
        left to its newer job)."""
        wanted = {job.article_id: job.content_hash for job in jobs if job.action == "put"}
        articles = [a for a in self.store.get(list(wanted)) if content_hash(a) == wanted[a.id]]
        return self.indexer.prepare(articles) if articles else None

    def write(self, prepared: PreparedArticles | None, jobs: Sequence[Job], sql: Cursor[Any]) -> Outcome:
        current, stale = _current(jobs, sql)
        puts = {job.article_id for job in current if job.action == "put"}
        removes = sorted({job.article_id for job in current if job.action == "remove"})
        ready = prepared
        if set(ready.article_ids if ready is not None else ()) != puts:
            # An article changed between embedding and now (rare): embed what is current, under the lock.
            articles = self.store.get(sorted(puts))
            ready = self.indexer.prepare(articles) if articles else None
        if removes:
            self.indexer.remove(removes)
        if ready is not None and puts:
            self.indexer.put(ready)
        return Outcome([j.id for j in current], [j.id for j in stale], len(puts), len(removes))

    def close(self) -> None:
        close = getattr(self.indexer, "close", None)
        if close is not None and self.owns_indexer:
            close()


class LocalIndexTarget:
    """Without a shared search engine: the corpus folder brought in line with PostgreSQL for the
    jobs' articles, then the engine's incremental ingest of the folder (it embeds only what changed)."""

    def __init__(self, engine: LocalEngine, store: ArticleStore) -> None:
        self.engine = engine
        self.store = store

    def prepare(self, jobs: Sequence[Job]) -> None:
        return None  # the engine embeds while writing: the folder and the index change together

    def write(self, prepared: None, jobs: Sequence[Job], sql: Cursor[Any]) -> Outcome:
        ids = sorted({job.article_id for job in jobs})
        written, removed = sync_corpus_folder(self.store, self.engine.config.corpus_dir, ids)
        self.engine.ingest([])  # takes in the folder's changes
        return Outcome([job.id for job in jobs], [], written, removed)

    def close(self) -> None:
        pass


def sync_corpus_folder(
    store: ArticleStore, corpus_dir: Path, article_ids: Sequence[str] | None = None
) -> tuple[int, int]:
    """Make the corpus folder hold PostgreSQL's live articles (all, or ``article_ids``): a file
    written for each new or changed one, removed for each deleted one; (written, removed).

    Files of ids PostgreSQL does not know are left alone (someone may have just dropped them in)."""
    if article_ids is None:
        live = store.live_ids_and_hashes()
        on_disk = {a.id for a in read_corpus(corpus_dir).articles}
        ids = sorted(set(live) | on_disk)
    else:
        ids = sorted(set(article_ids))
    articles = store.get(ids)
    written = 0
    for article in articles:
        try:
            if save_article(corpus_dir, article) != "unchanged":
                written += 1
        except ArticleFormatError as exc:  # the entrance checks make this unreachable
            log.error("article %s cannot be written to the corpus folder: %s", article.id, exc.reason)
    live_ids = {a.id for a in articles}
    gone = store.deleted_among([i for i in ids if i not in live_ids])
    removed = sum(1 for article_id in gone if remove_article(corpus_dir, article_id))
    return written, removed


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:300]


class IngestWorker:
    """Claims jobs, embeds, writes under the lock, completes (see the module docstring)."""

    def __init__(
        self,
        name: str,
        db: Database,
        target: Target,
        *,
        batch_size: int = BATCH_SIZE,
        lease_s: float = LEASE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.name = name
        self.db = db
        self.queue = IngestQueue(db)
        self.target = target
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.stop = threading.Event()

    def work_once(self) -> int:
        """One round: claim, prepare, write, complete; the number of jobs claimed (0: none to claim).

        When a round fails, its jobs are tried one by one, so one article the index refuses
        does not hold the others back; each job that still fails is retried later."""
        jobs = self.queue.claim(self.name, self.batch_size, self.lease_s)
        if not jobs:
            return 0
        log.info("%s claimed %d jobs (%d..%d)", self.name, len(jobs), jobs[0].id, jobs[-1].id)
        try:
            self._process(jobs)
        except Exception as exc:  # the index or the database failed
            if len(jobs) == 1:
                self._fail(jobs, exc)
                return 1
            log.warning("%s: %s; trying the %d jobs one by one", self.name, self._reason(exc), len(jobs))
            for job in jobs:
                if self.stop.is_set():
                    self._release([job])
                    continue
                try:
                    self._process([job])
                except Exception as one:
                    self._fail([job], one)
        return len(jobs)

    def _process(self, jobs: list[Job]) -> None:
        ids = [job.id for job in jobs]
        prepared = self.target.prepare(jobs)
        if self.stop.is_set():
            self._release(jobs)
            return
        with self.db.transaction() as sql:
            sql.execute("SELECT pg_advisory_xact_lock(%s)", (INDEX_WRITER_LOCK,))
            mine = set(self.queue.still_mine(ids, self.name, self.lease_s, sql))
            held = [job for job in jobs if job.id in mine]
            outcome = self.target.write(prepared, held, sql) if held else Outcome()
            self.queue.complete(outcome.done, self.name, sql)
            self.queue.supersede(outcome.superseded, self.name, sql)
        lost = len(jobs) - len(mine)
        log.info(
            "%s wrote %d articles, removed %d, %d superseded%s",
            self.name, outcome.written, outcome.removed, len(outcome.superseded),
            f", {lost} taken over by another worker (claim lapsed)" if lost else "",
        )  # fmt: skip

    def _reason(self, error: BaseException) -> str:
        return self.db.redacted(_one_line(error))

    def _fail(self, jobs: list[Job], error: BaseException) -> None:
        reason = self._reason(error)
        given_up = self.queue.fail([job.id for job in jobs], self.name, reason)
        log.warning("%s failed %d jobs (%s); %d given up", self.name, len(jobs), reason, len(given_up))

    def _release(self, jobs: list[Job]) -> None:
        released = self.queue.release([job.id for job in jobs], self.name)
        log.info("%s stopping: gave back %d unfinished jobs", self.name, len(released))

    def run(
        self,
        *,
        drain: bool = False,
        until: Callable[[], bool] | None = None,
        after_round: Callable[[], None] | None = None,
    ) -> None:
        """Work until :attr:`stop` is set; with ``drain``, until nothing is left to claim; with
        ``until``, until it says so (checked after every round, and before the first)."""
        log.info("%s started", self.name)
        while not self.stop.is_set():
            if until is not None and until():
                break
            claimed = self.work_once()
            if after_round is not None:
                after_round()
            if claimed:
                continue
            if drain:
                break
            if until is not None and until():
                break
            self.stop.wait(self.poll_s)
        log.info("%s stopped", self.name)


__all__ = [
    "INDEX_WRITER_LOCK", "IngestWorker", "LocalIndexTarget", "Outcome", "SearchEngineTarget", "sync_corpus_folder",
]  # fmt: skip
