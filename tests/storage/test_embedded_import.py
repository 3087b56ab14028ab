"""Moving an embedded deployment into PostgreSQL (`hoptac db import-embedded`), on a real
server: every kind of state the SQLite store keeps reads back the same through the
PostgreSQL store; nothing announced is announced again and nothing pending is lost; a
failure half-way leaves PostgreSQL as it was; the SQLite file is never changed; every
refusal is one line."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from hoptac.cli import main
from notifications.notifier import Notifier
from notifications.sending import SendFailure
from retrieval.engine import IndexStatus
from retrieval.models import Article
from storage.errors import SchemaOutOfDate, StateStoreError
from storage.postgres import PostgresStateStore, upgrade
from storage.postgres.embedded_import import TABLES, ImportFailed, import_embedded
from storage.records import AnswerPage, FeedbackReason, Notice, PollOutcome, SeenItem, Vote
from storage.sqlite import SQLiteStateStore
from tests.conftest import DATED
from tests.storage.state_samples import CITATION, GROUP, LAN, LATER, MAI, SUPERGROUP

GONE = -200  # a group that blocked the bot
FEED = "https://baohaiduong.vn/rss/hop-tac.rss"
UPGRADE = "run `hoptac db upgrade`"


def notice(number: int) -> Notice:
    return Notice(f"bai-{number}", f"Bài số {number} về hợp tác Hải Dương - Bắc Giang", None, "2024-05-20",
                  "Báo Hải Dương", "Hai tỉnh ký kết chương trình hợp tác.")  # fmt: skip


@dataclass
class Embedded:
    """A SQLite state file filled through the SQLite store's own interfaces."""

    path: Path
    page_ids: list[str]


def fill_embedded(path: Path) -> Embedded:
    state = SQLiteStateStore(path)
    state.subscriptions.add(GROUP, "group", "Nhóm Sở Ngoại vụ", LAN)
    state.subscriptions.add(SUPERGROUP, "supergroup", "Hội đồng vùng", None)
    state.subscriptions.add(MAI, "private", "", MAI)
    state.subscriptions.add(GONE, "group", "Nhóm đã chặn bot", LAN)

    state.outbox.record_baseline(["bai-1", "bai-2"])  # indexed before notifications began
    state.outbox.announce([notice(3), notice(4)])
    state.outbox.mark_sent(GROUP, ["bai-3"])
    state.outbox.mark_failed(SUPERGROUP, ["bai-3"], "Bad Request: message is too long")
    state.outbox.defer(MAI, ["bai-3"], 600, "Timed out")  # pending, due in ten minutes, one attempt
    state.outbox.drop_chat(GONE, "Forbidden: bot was blocked by the user")
    state.subscriptions.remove(GONE)
    assert state.outbox.claim_due(limit=1, lease_s=120)  # one row claimed by a sender that then stopped

    state.feedback.record(Vote("k3J9xQ", "Cầu Đồng Việt ở đâu?", 1, GROUP, LAN, 0, ((CITATION.article_id, 120, 157),)))
    state.feedback.record(
        Vote("k3J9xQ", "Cầu Đồng Việt ở đâu?", -1, GROUP, MAI, 3, first_quote="Câu.", reason=FeedbackReason.OUTDATED)
    )

    polled = PollOutcome(FEED, error=None, etag='W/"5f3a"', last_modified="Mon, 20 May 2024 08:00:00 GMT", added=2)
    state.feeds.record_poll(polled)
    state.feeds.record_poll(PollOutcome(FEED, error="HTTP 503", etag="ignored", keep_validators=True))
    state.feeds.record_poll(PollOutcome("https://bacgiang.gov.vn/rss", error=None, etag=None, last_modified=None))
    state.feeds.remember([SeenItem("https://baohaiduong.vn/a/1", "3f9a" * 16, FEED, "bai-3"),
                          SeenItem("https://baohaiduong.vn/a/2", "77b1" * 16, FEED, "bai-4")])  # fmt: skip

    page_ids = [
        state.answer_pages.add(AnswerPage("Cầu Đồng Việt ở đâu?", GROUP, LAN, 0, (CITATION,))),
        state.answer_pages.add(AnswerPage("Hai tỉnh hợp tác gì?", MAI, MAI, 3, (CITATION, CITATION))),
    ]

    assert state.updates.first_time(1001, "bot-1")  # long polling: taken and answered
    assert state.updates.claim(1002, "bot-1") == "ours"
    state.updates.answered(1002)
    assert state.updates.claim(1003, "bot-1") == "ours"  # the bot died while answering it
    state.close()
    return Embedded(path, page_ids)


@pytest.fixture
def embedded(tmp_path: Path) -> Embedded:
    return fill_embedded(tmp_path / "data" / "hoptac.sqlite3")


@pytest.fixture
def target(postgres_url: str) -> Iterator[str]:
    """An upgraded, empty PostgreSQL schema."""
    upgrade(postgres_url)
    yield postgres_url


def table_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every state table, in a stable order: the database's whole state."""
    with psycopg.connect(url) as connection:
        return {t.name: sorted(connection.execute(f"SELECT * FROM {t.name}").fetchall(), key=repr) for t in TABLES}


def file_print(path: Path) -> tuple[str, int, list[str]]:
    """The file's bytes, its modification time and what lies beside it."""
    return (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns,
            sorted(p.name for p in path.parent.iterdir()))  # fmt: skip


def votes(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(({**r, "citations": json.loads(str(r["citations"]))} for r in rows), key=repr)


# --- everything arrives ------------------------------------------------------------------------


def test_every_kind_of_state_reads_back_the_same_through_the_postgres_store(embedded: Embedded, target: str) -> None:
    before = file_print(embedded.path)
    report = import_embedded(embedded.path, target)
    assert file_print(embedded.path) == before  # only read: not a byte, not a lock file

    assert report.lines() == [
        "subscriptions: 3 copied",
        "subscription filters: 3 copied",
        "announced articles: 4 copied (2 announced, 2 baseline)",
        "notifications: 8 copied (2 dropped, 1 failed, 4 pending, 1 sent)",
        "outbox markers: 1 copied",
        "feedback votes: 2 copied",
        "feeds: 2 copied",
        "feed items: 2 copied",
        "answer pages: 2 copied",
        "processed updates: 3 copied",
        f"imported {embedded.path} into PostgreSQL in one transaction; the SQLite file was not changed",
    ]

    old, new = SQLiteStateStore(embedded.path), PostgresStateStore(target)
    try:
        assert new.subscriptions.all() == old.subscriptions.all()  # subscribed_at kept
        assert new.subscriptions.count() == 3

        assert new.outbox.has_baseline()
        assert new.outbox.unannounced(["bai-1", "bai-2", "bai-3", "bai-4", "bai-5"]) == {"bai-5"}
        for moment in (None, time.time() + 200, LATER):  # the claimed row and the deferred one keep their times
            assert new.outbox.due(moment) == old.outbox.due(moment)
        assert new.outbox.pending_count() == old.outbox.pending_count() == 4
        old_rows, new_rows = old.outbox.rows(), new.outbox.rows()
        key = lambda r: (r["chat_id"], r["article_id"])  # noqa: E731
        assert len(new_rows) == 8
        for was, now in zip(sorted(old_rows, key=key), sorted(new_rows, key=key), strict=True):
            assert now["next_attempt_at"] == pytest.approx(was["next_attempt_at"], abs=1e-5)
            assert {**now, "next_attempt_at": 0} == {**was, "next_attempt_at": 0}

        assert votes(new.feedback.votes()) == votes(old.feedback.votes())
        assert new.feedback.dislikes_by_reason()[FeedbackReason.OUTDATED] == 1

        urls = [FEED, "https://bacgiang.gov.vn/rss", "https://never-polled.example/rss"]
        assert new.feeds.states(urls) == old.feeds.states(urls)
        assert new.feeds.validators(FEED) == old.feeds.validators(FEED) == ('W/"5f3a"', "Mon, 20 May 2024 08:00:00 GMT")
        assert new.feeds.seen_keys(["https://baohaiduong.vn/a/1", "https://x"]) == {"https://baohaiduong.vn/a/1"}
        assert new.feeds.seen_hashes(["77b1" * 16, "0000"]) == {"77b1" * 16}

        assert len(new.answer_pages) == 2
        for page_id in embedded.page_ids:  # a button already sent still finds its page
            assert new.answer_pages.get(page_id) == old.answer_pages.get(page_id) is not None
        newest = new.answer_pages.add(AnswerPage("câu mới", GROUP, LAN, 0, ()))
        assert new.answer_pages.get(newest) is not None

        assert not new.updates.first_time(1001, "bot-2")
        assert new.updates.claim(1002, "bot-2") == "answered"
        assert new.updates.claim(1003, "bot-2") == "ours"  # its claimer is gone: another replica answers it
        assert new.updates.prune(3600) == 0
    finally:
        old.close()
        new.close()


def test_the_command_line_prints_one_line_per_kind_and_leaves_the_file_alone(
    embedded: Embedded, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_DATABASE_URL", target)
    before = file_print(embedded.path)
    assert main(["db", "import-embedded", "--data-dir", str(embedded.path.parent)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "subscriptions: 3 copied" and len(out) == len(TABLES) + 2
    assert out[-2] == "articles (corpus folder): 1 copied (1 queued for indexing)"  # the settings' corpus folder
    assert file_print(embedded.path) == before


def test_a_dry_run_counts_and_writes_nothing(embedded: Embedded, target: str) -> None:
    report = import_embedded(embedded.path, target, dry_run=True)
    assert report.lines()[0] == "subscriptions: 3 copied"
    assert report.lines()[-1] == "dry run: nothing was written to PostgreSQL (rolled back)"
    assert all(rows == [] for rows in table_rows(target).values())


def test_a_file_a_crashed_bot_left_with_its_write_ahead_log_comes_whole(tmp_path: Path, target: str) -> None:
    path = tmp_path / "hoptac.sqlite3"
    state = SQLiteStateStore(path)
    state.subscriptions.add(GROUP, "group", "Nhóm Sở Ngoại vụ", LAN)
    state.outbox.record_baseline(["bai-1"])
    with sqlite3.connect(path) as other:  # keeps the log from being folded into the file at close
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM subscriptions").fetchall()
        state.subscriptions.add(MAI, "private", "", MAI)  # committed, in the -wal file only
        assert path.with_name("hoptac.sqlite3-wal").stat().st_size > 0
        report = import_embedded(path, target)
        other.execute("COMMIT")
    state.close()
    assert report.kinds[0].copied == 2


# --- notifications: nothing twice, nothing lost ------------------------------------------------


ARTICLES = [
    Article(
        id=f"bai-{n}",
        title=f"Bài số {n}: Hải Dương và Bắc Giang hợp tác",
        text="Hai tỉnh ký kết chương trình hợp tác giai đoạn 2020-2025.",
        published=datetime(2024, 5, n, tzinfo=UTC),
        source="Báo Hải Dương",
    )
    for n in range(1, 6)
]


class Index:
    """The served index, as the notifier sees it."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles

    async def refresh(self) -> bool:
        return False

    async def status(self) -> IndexStatus:
        return IndexStatus(
            articles=len(self.articles), passages=0, sentences=0, model="m", dimension=0, built_at="",
            age_seconds=0.0, index_bytes=0, index_kind="flat", corpus_fingerprint="",
            version=",".join(a.id for a in self.articles),
        )  # fmt: skip

    async def latest_articles(self, n: int = 5) -> list[Article]:
        return self.articles[:n]


class Chats:
    """A sender that records every message."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str) -> None:
        self.sent.append((chat_id, text))

    def titles(self, chat_id: int) -> list[str]:
        return [a.title for a in ARTICLES for c, text in self.sent if c == chat_id and a.title in text]


def no_failure(error: BaseException) -> SendFailure | None:
    return None


async def test_after_the_move_nothing_announced_is_announced_again_and_a_pending_one_goes_once(
    tmp_path: Path, target: str
) -> None:
    embedded = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    embedded.subscriptions.add(GROUP, "group", "Nhóm Sở Ngoại vụ", LAN)
    embedded.subscriptions.add(MAI, "private", "", MAI)
    index, chats = Index(ARTICLES[:1]), Chats()
    before = Notifier(embedded.outbox, embedded.subscriptions, index, no_failure)
    await before.check_index()  # bai-1 is the baseline
    index.articles = ARTICLES[:2]
    await before.index_changed(chats)  # bai-2 announced and sent
    index.articles = ARTICLES[:3]
    assert await before.check_index() == 2  # bai-3 queued for both chats; the bot stops before sending
    embedded.close()
    assert chats.titles(GROUP) == chats.titles(MAI) == [ARTICLES[1].title]

    import_embedded(tmp_path / "hoptac.sqlite3", target)

    moved, chats = PostgresStateStore(target), Chats()
    try:
        index.articles = ARTICLES[:4]  # and bai-4 arrived while the bot was being moved
        after = Notifier(moved.outbox, moved.subscriptions, index, no_failure)
        assert await after.check_index() == 2  # bai-4 only: bai-1 to bai-3 were seen before the move
        assert await after.deliver(chats) == 4
        assert await after.deliver(chats) == 0
        assert await after.index_changed(chats) == 0
        for chat in (GROUP, MAI):
            assert chats.titles(chat) == [ARTICLES[2].title, ARTICLES[3].title]  # each once, in one digest
        assert moved.outbox.pending_count() == 0
    finally:
        moved.close()


# --- merging ---------------------------------------------------------------------------------------


def test_merge_keeps_both_sides_never_resends_and_copies_nothing_the_second_time(
    embedded: Embedded, target: str
) -> None:
    cluster = PostgresStateStore(target)
    try:
        cluster.subscriptions.add(GROUP, "group", "Nhóm Sở Ngoại vụ (cụm)", LAN)  # subscribed on both sides
        cluster.subscriptions.add(-300, "group", "Nhóm Bắc Giang", MAI)  # only here
        cluster.outbox.record_baseline(["bai-1"])
        cluster.outbox.announce([notice(3)])  # bai-3: pending here for GROUP and -300; sent from SQLite to GROUP
        held = r"already holds hoptac state \(2 subscriptions, 2 subscription filters, 2 announced"
        with pytest.raises(StateStoreError, match=held):
            import_embedded(embedded.path, target)

        report = import_embedded(embedded.path, target, merge=True)
        assert report.lines()[0] == "subscriptions: 2 copied, 1 already there"
        assert report.lines()[1] == "subscription filters: 2 copied, 1 already there"
        assert report.lines()[2] == "announced articles: 2 copied, 2 already there (2 announced, 2 baseline)"

        assert cluster.subscriptions.count() == 4
        assert [s.title for s in cluster.subscriptions.all() if s.chat_id == GROUP] == ["Nhóm Sở Ngoại vụ (cụm)"]
        due = {(p.chat_id, p.notice.article_id) for p in cluster.outbox.due(LATER)}
        assert (GROUP, "bai-3") not in due  # sent before the move: settled beats pending
        assert {(-300, "bai-3"), (MAI, "bai-3"), (GROUP, "bai-4"), (MAI, "bai-4")} <= due
        assert cluster.outbox.unannounced(["bai-2", "bai-4", "bai-9"]) == {"bai-9"}
        assert len(cluster.answer_pages) == 2

        state = table_rows(target)
        again = import_embedded(embedded.path, target, merge=True)
        assert all(k.copied == 0 for k in again.kinds), again.lines()
        assert table_rows(target) == state
    finally:
        cluster.close()


# --- a failure half-way ----------------------------------------------------------------------------


def test_a_value_postgres_refuses_half_way_leaves_it_as_it_was(embedded: Embedded, target: str) -> None:
    with sqlite3.connect(embedded.path) as raw:  # the last-but-one table copied holds a bad row
        raw.execute("UPDATE answer_pages SET citations = 'không phải JSON' WHERE page_id = ?", (embedded.page_ids[1],))
    with pytest.raises(ImportFailed) as failure:
        import_embedded(embedded.path, target)
    message = str(failure.value)
    assert message.startswith("the import failed and PostgreSQL was left as it was: ")
    assert "json" in message and "\n" not in message
    assert all(rows == [] for rows in table_rows(target).values())
    PostgresStateStore(target).close()  # still usable


def test_a_step_failing_half_way_while_merging_leaves_the_existing_state_untouched(
    embedded: Embedded, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = PostgresStateStore(target)
    cluster.subscriptions.add(-300, "group", "Nhóm Bắc Giang", MAI)
    cluster.outbox.record_baseline(["bai-1"])
    cluster.close()
    state = table_rows(target)

    import storage.postgres.embedded_import as module

    copy = module._copy

    def copy_then_lose_the_server(*args, **kwargs):  # type: ignore[no-untyped-def]
        copied = copy(*args, **kwargs)
        if copied.kind == "feedback votes":
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return copied

    monkeypatch.setattr(module, "_copy", copy_then_lose_the_server)
    with pytest.raises(ImportFailed, match="left as it was: server closed the connection unexpectedly"):
        import_embedded(embedded.path, target, merge=True)
    assert table_rows(target) == state


def test_a_bot_writing_to_the_target_makes_the_import_wait_then_give_up_without_writing(
    embedded: Embedded, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.postgres.embedded_import as module

    monkeypatch.setattr(module, "LOCK_TIMEOUT", "200ms")
    with psycopg.connect(target) as bot:  # a transaction of a running bot, not yet committed
        bot.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('outbox-sender', 'bot-1', now())")
        bot.execute("DELETE FROM subscriptions WHERE chat_id = 0")
        with pytest.raises(ImportFailed, match="stayed busy: stop the bots using this PostgreSQL database"):
            import_embedded(embedded.path, target)
        bot.rollback()
    assert all(rows == [] for rows in table_rows(target).values())


# --- refusals ---------------------------------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return code, err.removeprefix("hoptac: error: ").rstrip("\n")


def test_refusals_are_one_line(
    embedded: Embedded, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    data = ["--data-dir", str(embedded.path.parent)]
    monkeypatch.delenv("HOPTAC_DATABASE_URL", raising=False)
    assert run_cli(["db", "import-embedded", *data], capsys) == (
        1, "HOPTAC_DATABASE_URL is not set: it names the PostgreSQL database to import into")  # fmt: skip

    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    assert run_cli(["db", "import-embedded", *data], capsys) == (
        1, f"the PostgreSQL database has no hoptac schema yet: {UPGRADE}")  # fmt: skip
    with pytest.raises(SchemaOutOfDate):
        import_embedded(embedded.path, postgres_url)

    upgrade(postgres_url)
    missing = tmp_path / "elsewhere" / "hoptac.sqlite3"
    assert run_cli(["db", "import-embedded", "--sqlite", str(missing)], capsys) == (
        1, f"no SQLite state at {missing} (an embedded deployment keeps it in DATA_DIR/hoptac.sqlite3)")  # fmt: skip

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all " * 100)
    assert run_cli(["db", "import-embedded", "--sqlite", str(garbage)], capsys) == (
        1, f"cannot read the SQLite state at {garbage}: file is not a database")  # fmt: skip

    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE notes (x)")
    assert run_cli(["db", "import-embedded", "--sqlite", str(other)], capsys) == (
        1, f"{other} holds no hoptac state (none of its tables): nothing to import")  # fmt: skip

    assert main(["db", "import-embedded", *data]) == 0
    capsys.readouterr()
    code, err = run_cli(["db", "import-embedded", *data], capsys)  # a second time: PostgreSQL holds state now
    assert code == 1 and err == (
        "the PostgreSQL database already holds hoptac state (3 subscriptions, 3 subscription filters, "
        "4 announced articles, "
        "8 notifications, 1 outbox markers, 2 feedback votes, 2 feeds, 2 feed items, 2 answer pages, "
        "3 processed updates, 1 articles): import into an empty one, or add --merge to keep both"
    )
    assert run_cli(["db", "upgrade", "--merge"], capsys) == (
        1, "--merge, --dry-run and --sqlite go with 'db import-embedded' only")  # fmt: skip


def test_help_describes_the_import(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["db", "--help"])
    out = capsys.readouterr().out
    assert "import-embedded" in out and "--merge" in out and "one transaction" in out


def test_the_corpus_folders_articles_come_along_queued_and_none_is_announced_again(
    embedded: Embedded, target: str, tmp_path: Path
) -> None:
    import shutil

    from retrieval.articles.corpus import read_corpus
    from storage.postgres.articles import ArticleStore, content_hash
    from storage.postgres.database import Database
    from storage.postgres.ingest_jobs import IngestQueue
    from tests.conftest import CORPUS

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for path in DATED.glob("*.md"):
        shutil.copy(path, corpus)
    articles = read_corpus(corpus).articles
    ids = [a.id for a in articles]
    state = SQLiteStateStore(embedded.path)
    state.outbox.record_baseline(ids)  # indexed before notifications began, as in an embedded deployment
    state.close()

    broken = corpus / "broken.md"
    broken.write_text("---\nid: x\n", "utf-8")
    before = table_rows(target)
    with pytest.raises(StateStoreError, match="the corpus folder holds a file that cannot be read"):
        import_embedded(embedded.path, target, corpus_dir=corpus)
    assert table_rows(target) == before  # nothing written, the state neither
    broken.unlink()

    report = import_embedded(embedded.path, target, corpus_dir=corpus)
    assert report.lines()[-2] == "articles (corpus folder): 3 copied (3 queued for indexing)"
    db = Database(target)
    try:
        assert ArticleStore(db).live_ids_and_hashes() == {a.id: content_hash(a) for a in articles}
        assert IngestQueue(db).depth() == 3
    finally:
        db.close()
    store = PostgresStateStore(target)
    try:
        assert store.outbox.unannounced(ids) == set()  # the workers' articles are not news again
    finally:
        store.close()
    again = import_embedded(embedded.path, target, merge=True, corpus_dir=corpus)
    assert again.kinds[-1].copied == 0 and again.lines()[-2] == "articles (corpus folder): 0 copied, 3 already there"


@pytest.mark.model
def test_with_milvus_the_move_also_builds_the_search_collections(
    embedded: Embedded, target: str, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """One command moves the deployment: the state, the corpus, and Milvus built from it."""
    import json

    from storage.postgres.database import Database
    from storage.postgres.ingest_jobs import IngestQueue

    pytest.importorskip("milvus_lite")
    data = embedded.path.parent
    (data / "models").mkdir(exist_ok=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    monkeypatch.setenv("HOPTAC_DATABASE_URL", target)
    monkeypatch.setenv("HOPTAC_SEARCH_URL", str(tmp_path / "milvus.db"))
    assert main(["db", "import-embedded", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("Milvus: 1 articles, ") and "searchable" in out[-1]
    db = Database(target)
    try:
        assert IngestQueue(db).depth() == 0  # the rebuild holds them: no worker embeds them again
    finally:
        db.close()
    assert main(["ask", "--json", "--data-dir", str(data), "cầu Đồng Việt ở đâu?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and "Đồng Việt" in answer["citations"][0]["sentence"]
