"""Articles in PostgreSQL and the ingest queue, on a real server: upserts classified by content
hash with their jobs queued in the same transaction; claims disjoint under SKIP LOCKED; a lapsed
claim taken over (the first worker's late completion ignored); a newer job superseding an older
one; failures retried, then given up."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from retrieval.articles.corpus import VIETNAM_TZ, ArticleFormatError
from retrieval.models import Article
from storage.postgres import upgrade
from storage.postgres.articles import ArticleStore, content_hash
from storage.postgres.database import Database
from storage.postgres.index_generation import live_generation, set_live_generation
from storage.postgres.ingest_jobs import IngestQueue
from storage.postgres.schema import head_revision

PUBLISHED = datetime(2024, 5, 20, 8, 30, tzinfo=VIETNAM_TZ)


def article(number: int, body: str = "Hai tỉnh ký kết chương trình hợp tác.") -> Article:
    return Article(
        id=f"bai-{number:03d}",
        title=f"Bài số {number} về hợp tác Hải Dương - Bắc Giang",
        published=PUBLISHED + timedelta(days=number),
        source="Báo Hải Dương",
        text=f"{body}\n\nĐoạn thứ hai của bài {number}.",
        url=f"https://baohaiduong.vn/bai-{number}.html",
        tags=("hợp tác", "Bắc Giang"),
        sapo=body,
    )


def jobs_of(db: Database) -> list[tuple[str, str, str]]:
    rows = db.query("SELECT article_id, action, state FROM ingest_jobs ORDER BY id")
    return [(row["article_id"], row["action"], row["state"]) for row in rows]


def test_upsert_says_new_updated_unchanged_and_queues_a_job_for_each_change(db: Database) -> None:
    store = ArticleStore(db)
    assert store.upsert([article(1), article(2)], "b1") == {"bai-001": "new", "bai-002": "new"}
    changed = article(2, "Hai tỉnh ký kết thêm ba dự án.")
    assert store.upsert([article(1), changed, article(3)], "b2") == {
        "bai-001": "unchanged", "bai-002": "updated", "bai-003": "new",
    }  # fmt: skip
    assert jobs_of(db) == [
        ("bai-001", "put", "queued"), ("bai-002", "put", "superseded"),  # the older version will not be indexed
        ("bai-002", "put", "queued"), ("bai-003", "put", "queued"),
    ]  # fmt: skip
    assert store.get(["bai-002", "missing", "bai-001"]) == [changed, article(1)]  # as given back, in that order
    assert store.live_ids_and_hashes() == {a.id: content_hash(a) for a in (article(1), changed, article(3))}
    assert store.count() == 3
    assert [[a.id for a in chunk] for chunk in store.live_chunks(size=2)] == [["bai-001", "bai-002"], ["bai-003"]]

    assert store.delete(["bai-001", "missing"], "b3") == ["bai-001"]
    assert store.get(["bai-001"]) == [] and store.count() == 2
    assert jobs_of(db)[0] == ("bai-001", "put", "superseded") and jobs_of(db)[-1] == ("bai-001", "remove", "queued")
    assert store.upsert([article(1)], "b4") == {"bai-001": "new"}  # back from deletion


def test_articles_enter_in_nfc_and_vietnam_time_and_bad_ones_store_nothing(db: Database) -> None:
    store = ArticleStore(db)
    decomposed = article(1, unicodedata.normalize("NFD", "Hợp tác toàn diện."))
    utc = Article(**{**article(1).__dict__, "published": PUBLISHED.astimezone(UTC)})
    store.upsert([decomposed], "b1")
    [stored] = store.get(["bai-001"])
    assert stored.text == unicodedata.normalize("NFC", decomposed.text)
    assert stored.published is not None and stored.published.utcoffset() == timedelta(hours=7)
    assert store.upsert([utc], "b2") == {"bai-001": "updated"}  # the text changed, not the moment
    assert store.upsert([utc], "b3") == {"bai-001": "unchanged"}
    with pytest.raises(ArticleFormatError):
        store.upsert([article(2), Article(**{**article(3).__dict__, "text": "  "})], "b4")
    assert store.count() == 1  # the good one in the bad batch was not stored either


def test_two_claimers_get_disjoint_jobs(postgres_url: str, db: Database) -> None:
    ArticleStore(db).upsert([article(n) for n in range(10)], "b1")
    queue = IngestQueue(db)
    # The first claimer's transaction is held open: the second skips its locked rows.
    with psycopg.connect(postgres_url) as held:
        held.execute("SELECT id FROM ingest_jobs ORDER BY id LIMIT 4 FOR UPDATE")
        second = queue.claim("w2", limit=6, lease_s=60)
    first = queue.claim("w1", limit=6, lease_s=60)
    assert len(second) == 6 and len(first) == 4
    assert not {j.id for j in first} & {j.id for j in second}
    assert queue.claim("w3", limit=6, lease_s=60) == []
    assert queue.depth() == 10


def test_a_lapsed_claim_is_taken_over_and_the_first_workers_late_completion_is_ignored(db: Database) -> None:
    ArticleStore(db).upsert([article(1), article(2)], "b1")
    queue = IngestQueue(db)
    [one, two] = queue.claim("w1", limit=2, lease_s=0)  # lapses at once: w1 was killed
    assert [j.attempts for j in (one, two)] == [1, 1]
    taken = queue.claim("w2", limit=5, lease_s=60)
    assert [j.id for j in taken] == [one.id, two.id] and taken[0].attempts == 2
    assert queue.complete([one.id, two.id], "w1") == []  # too late: the jobs are w2's
    assert queue.batch_progress("b1").done == 0
    assert queue.complete([one.id], "w2") == [one.id]
    progress = queue.batch_progress("b1")
    assert (progress.done, progress.failed, progress.total, progress.settled) == (1, 0, 2, False)
    assert queue.release([two.id], "w2") == [two.id]  # w2 stopping: back in the queue at once
    assert [j.attempts for j in queue.claim("w3", limit=5, lease_s=60)] == [2]  # the released claim not counted


def test_a_newer_job_settles_an_older_batchs_article(db: Database) -> None:
    store, queue = ArticleStore(db), IngestQueue(db)
    store.upsert([article(1)], "old")
    store.upsert([article(1, "Bản mới của bài.")], "new")
    [job] = queue.claim("w", limit=5, lease_s=60)  # only the newer job is left to do
    assert job.batch == "new" and job.content_hash == content_hash(store.get(["bai-001"])[0])
    assert not queue.batch_progress("old").settled
    queue.complete([job.id], "w")
    assert queue.batch_progress("old").settled and queue.batch_progress("new").settled


def test_failed_jobs_are_retried_then_given_up(db: Database) -> None:
    ArticleStore(db).upsert([article(1)], "b1")
    queue = IngestQueue(db, max_attempts=2)
    [job] = queue.claim("w", limit=1, lease_s=60)
    assert queue.fail([job.id], "w", "Milvus: connection refused") == []  # queued again, after a delay
    assert queue.claim("w", limit=1, lease_s=60) == []
    with db.transaction() as sql:  # the retry delay over
        sql.execute("UPDATE ingest_jobs SET claimed_until = now() - interval '1 second'")
    [again] = queue.claim("w", limit=1, lease_s=60)
    assert queue.fail([again.id], "w", "Milvus: connection refused") == [job.id]
    assert queue.batch_progress("b1") == type(queue.batch_progress("b1"))(0, 1, 1)
    assert queue.errors("b1") == [("bai-001", "Milvus: connection refused")]
    assert queue.depth() == 0


def test_the_live_index_generation_is_one_row(db: Database) -> None:
    assert live_generation(db) is None
    set_live_generation(db, "hoptac_g1")
    set_live_generation(db, "hoptac_g2")
    assert live_generation(db) == "hoptac_g2"


def test_a_database_before_the_articles_says_to_run_the_upgrade(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hoptac.cli import main

    upgrade(postgres_url, "0003")  # the state store alone, as before this revision
    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    page = tmp_path / "bai.md"
    page.write_text("Tiêu đề\n\nHai tỉnh ký kết chương trình hợp tác.\n", "utf-8")
    assert main(["--data-dir", str(tmp_path), "ingest", str(page)]) == 1
    assert capsys.readouterr().err == (
        "hoptac: error: the PostgreSQL database's schema is older than this version of hoptac (0003, it needs "
        f"{head_revision()}): run `hoptac db upgrade`\n"
    )
