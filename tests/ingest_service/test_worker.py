"""`hoptac worker` on a real PostgreSQL: jobs made searchable in Milvus (Lite) or in the local
index through the corpus folder; a version that changed while being embedded is never written
over the newer one; a stopping worker gives its claims back; and two worker processes writing
to one Milvus (``milvus-lite server``), one killed outright half-way, leave every article
indexed once, at its current version, and searchable."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hoptac.settings import Settings
from ingest_service.worker import IngestWorker, LocalIndexTarget, SearchEngineTarget, sync_corpus_folder
from retrieval.articles.corpus import article_path, read_corpus
from retrieval.models import Article
from storage.postgres import upgrade
from storage.postgres.articles import ArticleStore, content_hash
from storage.postgres.database import Database
from storage.postgres.ingest_jobs import IngestQueue, Job
from tests.conftest import CORPUS, DATED, REPO, HashingEmbedder
from tests.storage.test_ingest_jobs import article

JOIN_S = 90


def job_states(db: Database) -> list[tuple[str, str]]:
    return [(r["article_id"], r["state"]) for r in db.query("SELECT article_id, state FROM ingest_jobs ORDER BY id")]


# -- the shared Milvus, with a log of the writes -----------------------------------------


class RecordingIndexer:
    """The real :class:`~retrieval.milvus.index.MilvusIndex`, with a log (a file the processes
    share) of which process wrote which article; its ``block_round``-th prepare signals
    ``entered`` and waits on ``blocked`` (never set): a worker stuck mid-batch, to be killed."""

    def __init__(self, milvus: Any, log: Path, entered: Any = None, blocked: Any = None, block_round: int = 4) -> None:
        self.milvus, self.log = milvus, log
        self.entered, self.blocked, self.block_round = entered, blocked, block_round
        self.rounds = 0

    def prepare(self, articles: Sequence[Article]) -> Any:
        self.rounds += 1
        if self.entered is not None and self.rounds == self.block_round:
            self.entered.set()
            self.blocked.wait()
        return self.milvus.prepare(articles)

    def put(self, prepared: Any) -> None:
        self.milvus.put(prepared)
        with self.log.open("a") as log:
            log.write("".join(f"{os.getpid()} put {i}\n" for i in prepared.article_ids))

    def remove(self, article_ids: Sequence[str]) -> None:
        self.milvus.remove(article_ids)

    def close(self) -> None:
        self.milvus.close()

    def writes(self) -> list[tuple[int, str]]:
        return writes_in(self.log)


def writes_in(log: Path) -> list[tuple[int, str]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [(int(pid), article_id) for pid, _, article_id in (line.split() for line in lines)]


def connect_milvus(uri: str, prefix: str) -> Any:
    from retrieval.milvus.index import MilvusIndex
    from retrieval.vietnamese.analyzer import Analyzer

    embedder = HashingEmbedder()
    return MilvusIndex.connect(uri, prefix, embedder.model_id, embedder.dimension, Analyzer(), embedder)  # type: ignore[arg-type]


@pytest.fixture
def milvus(milvus_server: str, milvus_prefix: str) -> Iterator[Any]:
    """The shared Milvus, under this test's own collection prefix."""
    index = connect_milvus(milvus_server, milvus_prefix)
    yield index
    index.close()


def work_in_a_process(
    url: str, milvus_uri: str, prefix: str, log: str, name: str, batch: str, entered: Any, blocked: Any
) -> None:
    """A worker process writing to the shared Milvus: until ``batch`` is settled (or SIGTERM);
    with ``entered``, stuck in its fourth round."""
    db = Database(url, max_size=2)
    indexer = RecordingIndexer(connect_milvus(milvus_uri, prefix), Path(log), entered, blocked)
    worker = IngestWorker(name, db, SearchEngineTarget(indexer, ArticleStore(db)), batch_size=5, lease_s=2, poll_s=0.2)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    queue = IngestQueue(db)
    worker.run(until=lambda: queue.batch_progress(batch).settled)
    indexer.close()
    db.close()


def test_two_worker_processes_one_killed_half_way_index_every_article_once(
    postgres_url: str, db: Database, tmp_path: Path, milvus_server: str, milvus_prefix: str
) -> None:
    from retrieval.answering.search import Searcher

    store = ArticleStore(db)
    articles = [article(n) for n in range(50)]
    store.upsert(articles, "fifty")
    log = tmp_path / "writes.log"
    context = multiprocessing.get_context("spawn")
    entered, blocked = context.Event(), context.Event()
    common = (postgres_url, milvus_server, milvus_prefix, str(log))
    doomed = context.Process(target=work_in_a_process, args=(*common, "doomed", "fifty", entered, blocked))
    survivor = context.Process(target=work_in_a_process, args=(*common, "survivor", "fifty", None, None))
    doomed.start()
    try:
        assert entered.wait(JOIN_S), "the first worker never reached its fourth batch"
        survivor.start()  # 15 articles done, 5 claimed and being embedded, 30 queued
        os.kill(doomed.pid, signal.SIGKILL)  # type: ignore[arg-type]  # mid-batch, holding 5 claims
        doomed.join(JOIN_S)
        survivor.join(JOIN_S)
        assert survivor.exitcode == 0
    finally:
        for process in (doomed, survivor):
            if process.pid is not None and process.is_alive():
                process.kill()
    writes = writes_in(log)
    assert sorted(i for _, i in writes) == sorted(a.id for a in articles)  # each written once
    assert sum(1 for pid, _ in writes if pid == doomed.pid) == 15  # the killed worker's first three batches
    queue = IngestQueue(db)
    assert queue.batch_progress("fifty").done == 50 and queue.depth() == 0
    taken_over = db.query("SELECT count(*) AS n FROM ingest_jobs WHERE attempts = 2 AND claimed_by IS NOT NULL")
    assert taken_over[0]["n"] == 5  # the killed worker's claims, lapsed and claimed again

    # In Milvus: every article once, at PostgreSQL's version, and searchable.
    milvus = connect_milvus(milvus_server, milvus_prefix)
    try:
        assert milvus.indexed() == {a.id: content_hash(a) for a in articles} == store.live_ids_and_hashes()
        assert milvus.counts()["articles"] == 50
        question = "Đoạn thứ hai của bài 37"
        query = milvus.embedder.encode_query(question)
        view = milvus.view(question, query)
        ranked = Searcher(milvus.analyzer).passages(view, question, query)
        assert ranked and view.article_of_passage(ranked[0].passage).id == "bai-037"
    finally:
        milvus.close()


# -- one process -------------------------------------------------------------------------


class ChangingWhileEmbedding:
    """A target whose embedding is overtaken: while the first round embeds, the article is
    ingested again with a new text (as a concurrent `hoptac ingest` would)."""

    def __init__(self, inner: SearchEngineTarget, store: ArticleStore, newer: Article) -> None:
        self.inner, self.store, self.newer = inner, store, newer
        self.rounds = 0

    def prepare(self, jobs: Sequence[Job]) -> Any:
        prepared = self.inner.prepare(jobs)
        self.rounds += 1
        if self.rounds == 1:
            self.store.upsert([self.newer], "later")
        return prepared

    def write(self, prepared: Any, jobs: Sequence[Job], sql: Any) -> Any:
        return self.inner.write(prepared, jobs, sql)

    def close(self) -> None:
        self.inner.close()


def test_a_version_changed_while_embedding_is_superseded_not_written(db: Database, tmp_path: Path, milvus: Any) -> None:
    store = ArticleStore(db)
    store.upsert([article(1)], "first")
    newer = article(1, "Bản mới: hai tỉnh ký thêm ba dự án.")
    indexer = RecordingIndexer(milvus, tmp_path / "writes.log")
    target = ChangingWhileEmbedding(SearchEngineTarget(indexer, store), store, newer)
    IngestWorker("w", db, target).run(drain=True)
    assert milvus.indexed() == {"bai-001": content_hash(newer)}
    assert indexer.writes() == [(os.getpid(), "bai-001")]  # the older version was never written
    assert job_states(db) == [("bai-001", "superseded"), ("bai-001", "done")]
    assert IngestQueue(db).batch_progress("first").settled


def test_a_stopping_worker_gives_its_unfinished_claims_back(db: Database, tmp_path: Path, milvus: Any) -> None:
    store = ArticleStore(db)
    store.upsert([article(1), article(2)], "b")
    indexer = RecordingIndexer(milvus, tmp_path / "writes.log")
    worker = IngestWorker("w", db, SearchEngineTarget(indexer, store))

    class StopWhileEmbedding(SearchEngineTarget):
        def prepare(self, jobs: Sequence[Job]) -> Any:
            worker.stop.set()  # SIGTERM arrives during the embedding
            return super().prepare(jobs)

    worker.target = StopWhileEmbedding(indexer, store)
    worker.run()
    assert milvus.indexed() == {} and indexer.writes() == []
    rows = db.query("SELECT state, attempts, claimed_by FROM ingest_jobs")
    assert [(r["state"], r["attempts"], r["claimed_by"]) for r in rows] == [("queued", 0, None)] * 2


def test_an_article_the_index_refuses_does_not_hold_the_others_back(db: Database, tmp_path: Path, milvus: Any) -> None:
    class Refusing(RecordingIndexer):
        def put(self, prepared: Any) -> None:
            if "bai-002" in prepared.article_ids:
                raise RuntimeError("Milvus: row too large")
            super().put(prepared)

    store = ArticleStore(db)
    store.upsert([article(1), article(2), article(3)], "b")
    indexer = Refusing(milvus, tmp_path / "writes.log")
    IngestWorker("w", db, SearchEngineTarget(indexer, store)).run(drain=True)
    assert set(milvus.indexed()) == {"bai-001", "bai-003"}
    rows = db.query("SELECT state, attempts, error FROM ingest_jobs WHERE article_id = 'bai-002'")
    assert [(r["state"], r["attempts"], r["error"]) for r in rows] == [
        ("queued", 1, "RuntimeError: Milvus: row too large")  # retried later (after a delay), not lost
    ]


def test_jobs_reach_milvus_lite_added_changed_and_deleted(db: Database, tmp_path: Path) -> None:
    pytest.importorskip("milvus_lite")
    from retrieval.milvus.index import MilvusIndex
    from retrieval.vietnamese.analyzer import Analyzer

    embedder = HashingEmbedder()
    milvus = MilvusIndex.connect(str(tmp_path / "milvus.db"), "t", embedder.model_id, embedder.dimension,
                                 Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    try:
        store = ArticleStore(db)
        articles = [*read_corpus(CORPUS).articles, *read_corpus(DATED).articles]
        store.upsert(articles, "b1")
        worker = IngestWorker("w", db, SearchEngineTarget(milvus, store), batch_size=2)
        worker.run(drain=True)
        assert milvus.indexed() == store.live_ids_and_hashes() and len(articles) == 3
        changed = replace(articles[1], title=articles[1].title + " (cập nhật)")
        store.upsert([changed], "b2")
        store.delete([articles[2].id], "b2")
        worker.run(drain=True)
        assert milvus.indexed() == store.live_ids_and_hashes() == {
            articles[0].id: content_hash(articles[0]), changed.id: content_hash(changed),
        }  # fmt: skip
        assert IngestQueue(db).batch_progress("b2").done == 2
    finally:
        milvus.close()


def test_without_a_search_engine_the_local_index_follows_postgresql(db: Database, settings: Settings) -> None:
    from retrieval.local.engine import LocalEngine

    engine = LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    store = ArticleStore(db)
    dated = read_corpus(DATED).articles
    store.upsert(dated, "b1")
    IngestWorker("w", db, LocalIndexTarget(engine, store)).run(drain=True)
    assert {a.id for a in dated} <= set(engine.index.article_index)
    assert all(article_path(settings.corpus_dir, a.id).is_file() for a in dated)

    store.delete([dated[0].id], "b2")
    IngestWorker("w", db, LocalIndexTarget(engine, store)).run(drain=True)
    assert dated[0].id not in engine.index.article_index and not article_path(settings.corpus_dir, dated[0].id).exists()
    assert IngestQueue(db).depth() == 0
    # The whole folder brought in line at once: nothing left to write.
    assert sync_corpus_folder(store, settings.corpus_dir) == (0, 0)


# -- the command line ----------------------------------------------------------------------


def test_the_worker_command_needs_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hoptac.cli import main

    assert main(["--data-dir", str(tmp_path), "worker", "--once"]) == 1
    assert capsys.readouterr().err.strip() == (
        "hoptac: error: HOPTAC_DATABASE_URL is not set: workers take their jobs from PostgreSQL"
    )


@pytest.mark.model
def test_ingest_into_postgresql_queues_then_waits_until_searchable(
    postgres_url: str, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import json
    import shutil

    from hoptac.cli import main
    from retrieval.local.engine import LocalEngine

    upgrade(postgres_url)
    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    dirs = ["--corpus-dir", str(corpus), "--data-dir", str(data)]
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x\n", "utf-8")
    dated = sorted(DATED.glob("*.md"))

    # Stored and queued, nothing indexed; the bad file is one line and the exit code says so.
    assert main([*dirs, "ingest", "--no-wait", str(bad), str(dated[0])]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"hoptac: error: {bad}: ") and len(err.splitlines()) == 1
    assert out.splitlines()[0].startswith("1 new, 0 updated, 0 unchanged, 1 failed (stored in PostgreSQL, batch ")
    assert out.splitlines()[1] == "1 queued: `hoptac worker` makes them searchable"
    assert not (data / "index").exists()

    # Waiting: this process works the queue (the earlier job too) until its batch is searchable.
    assert main([*dirs, "ingest", str(dated[1]), str(next(CORPUS.glob("*.md")))]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1:] == ["2/2 searchable"] and err == ""
    assert main([*dirs, "ingest", "--json", *map(str, dated)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["unchanged"], report["jobs"], report["failures"]) == (2, 0, [])
    engine = LocalEngine(Settings(corpus_dir=corpus, data_dir=data, _env_file=None).engine_config())  # type: ignore[call-arg]
    assert {a.id for a in read_corpus(DATED).articles} <= set(engine.index.article_index)
    assert main([*dirs, "worker", "--once"]) == 0  # nothing left


def test_the_worker_process_stops_cleanly_on_sigterm(postgres_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys
    import threading

    upgrade(postgres_url)
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path), "HOPTAC_DATA_DIR": str(tmp_path / "data"), "HOPTAC_CORPUS_DIR": str(tmp_path / "c"),
        "HOPTAC_DATABASE_URL": postgres_url, "HOPTAC_REPLICA_NAME": "node-7",
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "hoptac.cli", "worker", "--lease-seconds", "30"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(JOIN_S, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        lines = []
        while not (line := process.stderr.readline()).endswith("started\n"):
            assert line, f"the worker ended before starting: {lines}"
            lines.append(line)
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait() == 0
    finally:
        watchdog.cancel()
    assert " node-7/worker-" in line and rest.rstrip().endswith("stopped")
    assert postgres_url not in line + rest


@pytest.mark.model
def test_ingest_into_postgresql_and_milvus_lite_then_ask(
    postgres_url: str, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import json

    from hoptac.cli import main

    pytest.importorskip("milvus_lite")
    upgrade(postgres_url)
    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    monkeypatch.setenv("HOPTAC_SEARCH_URL", str(tmp_path / "milvus.db"))
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    dirs = ["--corpus-dir", str(tmp_path / "corpus"), "--data-dir", str(data)]
    assert main([*dirs, "ingest", str(CORPUS), str(DATED)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3 new, 0 updated, 0 unchanged, 0 failed") and out[-1] == "3/3 searchable"
    assert not (tmp_path / "corpus").exists()  # with Milvus, PostgreSQL alone holds the articles

    assert main([*dirs, "ask", "--json", "Ninh Bình và Thanh Hóa hợp tác du lịch thế nào?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and {c["article_id"] for c in answer["citations"]} <= {
        a.id for a in read_corpus(DATED).articles
    }
