"""The state store's contract, on both backends (SQLite and a real PostgreSQL server):
what the bot keeps between restarts, read back exactly, and the outbox's exactly-once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from storage.interfaces import StateStore
from storage.records import (
    EVERYTHING,
    AnswerPage,
    FeedbackReason,
    FilterKind,
    Notice,
    PollOutcome,
    SeenItem,
    SubscriptionFilter,
    Vote,
)
from tests.storage.state_samples import CITATION, GROUP, LAN, LATER, MAI, SUPERGROUP

OpenStore = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the store again on the same database each time it is called (a restart)."""
    if request.param == "sqlite":
        from storage.sqlite import SQLiteStateStore

        def opened() -> StateStore:
            return SQLiteStateStore(tmp_path / "hoptac.sqlite3")

    else:
        from storage.postgres import PostgresStateStore, upgrade

        url: str = request.getfixturevalue("postgres_url")
        upgrade(url)

        def opened() -> StateStore:
            return PostgresStateStore(url)

    stores: list[StateStore] = []

    def open_one() -> StateStore:
        stores.append(opened())
        return stores[-1]

    yield open_one
    for store in stores:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> StateStore:
    return open_store()


def notice(number: int, published: str | None = None) -> Notice:
    return Notice(f"bai-{number}", f"Bài số {number} về hợp tác <vùng>", None, published, "Báo A", "Câu dẫn.")


def pending(store: StateStore, now: float | None = None) -> list[tuple[int, str]]:
    return [(item.chat_id, item.notice.article_id) for item in store.outbox.due(now)]


# --- subscriptions ---------------------------------------------------------------------------


def test_a_chat_is_subscribed_once_and_can_leave(store: StateStore) -> None:
    assert store.subscriptions.add(GROUP, "group", "Nhóm Bắc Giang", LAN)
    assert not store.subscriptions.add(GROUP, "group", "Another title", MAI)  # nothing changes
    assert store.subscriptions.add(LAN, "private", "", None)

    [group] = [s for s in store.subscriptions.all() if s.chat_id == GROUP]
    assert (group.chat_type, group.title, group.subscribed_by) == ("group", "Nhóm Bắc Giang", LAN)
    assert group.subscribed_at.endswith("+00:00") and len(group.subscribed_at) == len("2026-11-30T09:00:00+00:00")
    assert store.subscriptions.count() == 2 and store.subscriptions.is_subscribed(LAN)

    assert store.subscriptions.remove(LAN)
    assert not store.subscriptions.remove(LAN)
    assert [s.chat_id for s in store.subscriptions.all()] == [GROUP]


def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(store: StateStore) -> None:
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)
    store.subscriptions.move(GROUP, SUPERGROUP)
    moved = [(s.chat_id, s.chat_type, s.title) for s in store.subscriptions.all()]
    assert moved == [(SUPERGROUP, "supergroup", "Nhóm")]
    assert not store.subscriptions.is_subscribed(GROUP)

    store.subscriptions.add(GROUP, "group", "Lại nhóm cũ", LAN)  # the old id again, over an existing new one
    store.subscriptions.move(GROUP, SUPERGROUP)
    assert [(s.chat_id, s.title) for s in store.subscriptions.all()] == [(SUPERGROUP, "Lại nhóm cũ")]


HAI_PHONG = SubscriptionFilter(FilterKind.PLACE, "Hải Phòng")
TOURISM = SubscriptionFilter(FilterKind.KEYWORD, "du lịch")


def test_a_chat_holds_several_filters_and_is_subscribed_while_it_holds_one(open_store: OpenStore) -> None:
    store = open_store()
    assert store.subscriptions.add(GROUP, "group", "Nhóm", LAN, HAI_PHONG)
    assert store.subscriptions.add(GROUP, "group", "Nhóm", MAI, TOURISM)
    assert not store.subscriptions.add(GROUP, "group", "Nhóm", MAI, HAI_PHONG)  # held already
    assert store.subscriptions.add(LAN, "private", "", LAN)  # everything

    again = open_store()  # a restart keeps them, in the order added
    assert again.subscriptions.filters(GROUP) == [HAI_PHONG, TOURISM]
    assert again.subscriptions.audience() == {GROUP: [HAI_PHONG, TOURISM], LAN: [EVERYTHING]}
    assert again.subscriptions.count() == 2 and again.subscriptions.filters(MAI) == []

    assert again.subscriptions.remove_filter(GROUP, HAI_PHONG)
    assert not again.subscriptions.remove_filter(GROUP, HAI_PHONG)
    assert again.subscriptions.is_subscribed(GROUP)
    assert again.subscriptions.remove_filter(GROUP, TOURISM)  # the last one: unsubscribed
    assert not again.subscriptions.is_subscribed(GROUP) and again.subscriptions.filters(GROUP) == []

    again.subscriptions.add(GROUP, "group", "Nhóm", LAN, TOURISM)
    again.subscriptions.move(GROUP, SUPERGROUP)  # the filters go along
    assert again.subscriptions.audience() == {SUPERGROUP: [TOURISM], LAN: [EVERYTHING]}
    assert again.subscriptions.remove(SUPERGROUP) and again.subscriptions.audience() == {LAN: [EVERYTHING]}


def test_a_chat_subscribed_before_filters_hears_everything_until_it_changes_them(store: StateStore) -> None:
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)
    database: Any = store.database  # type: ignore[attr-defined]
    with database.transaction() as sql:  # as a chat subscribed by a hoptac without filters
        sql.execute("DELETE FROM subscription_filters")

    assert store.subscriptions.filters(GROUP) == [EVERYTHING]
    assert not store.subscriptions.add(GROUP, "group", "Nhóm", LAN)  # already everything
    assert store.subscriptions.add(GROUP, "group", "Nhóm", LAN, HAI_PHONG)
    assert store.subscriptions.filters(GROUP) == [EVERYTHING, HAI_PHONG]


# --- the outbox ------------------------------------------------------------------------------


def test_the_baseline_is_never_announced(store: StateStore) -> None:
    assert not store.outbox.has_baseline()
    store.outbox.record_baseline(["cu-1", "cu-2"])
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)

    assert store.outbox.has_baseline()
    assert store.outbox.unannounced(["cu-1", "cu-2", "bai-1"]) == {"bai-1"}
    assert store.outbox.announce([Notice("cu-1", "Cũ"), notice(1)]) == 1
    assert pending(store) == [(GROUP, "bai-1")]


def test_an_article_is_queued_once_per_chat_ever(open_store: OpenStore) -> None:
    store = open_store()
    store.outbox.record_baseline([])
    store.subscriptions.add(GROUP, "supergroup", "Nhóm", LAN)
    store.subscriptions.add(LAN, "private", "", LAN)

    assert store.outbox.announce([notice(1), notice(1)]) == 2  # the same article twice in one call: once
    assert store.outbox.announce([notice(1)]) == 0  # seen: never again, whatever its content now
    again = open_store()  # a restart changes nothing
    assert again.outbox.announce([notice(1)]) == 0
    assert again.outbox.unannounced(["bai-1", "bai-2"]) == {"bai-2"}
    assert sorted(pending(again)) == sorted([(GROUP, "bai-1"), (LAN, "bai-1")])

    again.subscriptions.add(MAI, "private", "", MAI)  # a later subscriber does not get old news
    assert again.outbox.announce([notice(2)]) == 3
    assert [a for c, a in pending(again) if c == MAI] == ["bai-2"]


def test_an_article_goes_only_to_the_chats_of_its_audience_that_are_still_subscribed(store: StateStore) -> None:
    store.outbox.record_baseline([])
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN, HAI_PHONG)
    store.subscriptions.add(LAN, "private", "", LAN, TOURISM)

    audience = {"bai-1": [GROUP, LAN, GROUP], "bai-2": [MAI], "bai-3": []}  # MAI is not subscribed
    assert store.outbox.announce([notice(1), notice(2), notice(3)], audience=audience) == 2

    assert sorted(pending(store)) == sorted([(GROUP, "bai-1"), (LAN, "bai-1")])
    assert store.outbox.unannounced(["bai-2", "bai-3"]) == set()  # seen, though nobody was told


def test_an_article_seen_with_nobody_subscribed_is_still_announced_once(store: StateStore) -> None:
    store.outbox.record_baseline([])
    assert store.outbox.announce([notice(1)]) == 0
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)
    assert store.outbox.announce([notice(1)]) == 0
    assert store.outbox.unannounced(["bai-1"]) == set() and pending(store) == []


def test_due_notices_carry_their_snapshot_by_chat_oldest_first(store: StateStore) -> None:
    store.outbox.record_baseline([])
    store.subscriptions.add(LAN, "private", "", LAN)
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)
    store.outbox.announce([notice(2, "2024-05-21"), notice(1, "2024-05-20"), Notice("x", "Tóm tắt", summary_only=True)])

    due = store.outbox.due()
    assert [(i.chat_id, i.notice.article_id) for i in due] == [
        (GROUP, "x"), (GROUP, "bai-1"), (GROUP, "bai-2"), (LAN, "x"), (LAN, "bai-1"), (LAN, "bai-2"),
    ]  # fmt: skip
    assert due[1].notice == notice(1, "2024-05-20") and due[1].attempts == 0
    assert due[0].notice.summary_only
    assert store.outbox.due(now=0) == []  # not yet due at the dawn of time
    assert store.outbox.pending_count() == 6


def test_sent_failed_and_deferred_rows_are_not_due(store: StateStore) -> None:
    store.outbox.record_baseline([])
    store.subscriptions.add(GROUP, "supergroup", "Nhóm", LAN)
    store.outbox.announce([notice(1), notice(2), notice(3)])

    store.outbox.mark_sent(GROUP, ["bai-1"])
    store.outbox.mark_failed(GROUP, ["bai-2"], "Bad Request: ...")
    store.outbox.defer(GROUP, ["bai-3"], 60, "Timed out")
    store.outbox.mark_sent(GROUP, ["bai-2"])  # settled rows stay as they were

    assert store.outbox.due() == []
    [later] = store.outbox.due(now=LATER)
    assert (later.notice.article_id, later.attempts) == ("bai-3", 1)
    rows = {row["article_id"]: row for row in store.outbox.rows(GROUP)}
    assert {a: r["status"] for a, r in rows.items()} == {"bai-1": "sent", "bai-2": "failed", "bai-3": "pending"}
    assert rows["bai-1"]["sent_at"] is not None and rows["bai-2"]["sent_at"] is None
    assert rows["bai-2"]["last_error"] == "Bad Request: ..." and rows["bai-3"]["last_error"] == "Timed out"
    assert store.outbox.pending_count() == 1

    store.subscriptions.remove(GROUP)
    assert store.outbox.pending_count() == 0 and store.outbox.due(now=LATER) == []


def test_a_chat_that_left_is_dropped_and_a_moved_chat_takes_its_notices_along(store: StateStore) -> None:
    store.outbox.record_baseline([])
    for chat in (GROUP, LAN):
        store.subscriptions.add(chat, "group", "", LAN)
    store.outbox.announce([notice(1), notice(2)])

    assert store.outbox.drop_chat(LAN, "Forbidden: bot was blocked by the user") == 2
    assert store.outbox.drop_chat(LAN, "again") == 0
    assert {r["status"] for r in store.outbox.rows(LAN)} == {"dropped"}

    store.subscriptions.move(GROUP, SUPERGROUP)
    store.outbox.move_chat(GROUP, SUPERGROUP)
    assert pending(store) == [(SUPERGROUP, "bai-1"), (SUPERGROUP, "bai-2")]
    assert store.outbox.rows(GROUP) == []


def test_a_claimed_notice_is_no_other_senders_until_its_lease_ends(store: StateStore) -> None:
    store.outbox.record_baseline([])
    store.subscriptions.add(GROUP, "group", "Nhóm", LAN)
    store.outbox.announce([notice(1), notice(2), notice(3)], now=1000)

    first = store.outbox.claim_due(now=2000, limit=2, lease_s=60)
    second = store.outbox.claim_due(now=2000, lease_s=60)
    assert [i.notice.article_id for i in first] == ["bai-1", "bai-2"]
    assert [i.notice.article_id for i in second] == ["bai-3"]
    assert store.outbox.claim_due(now=2059) == [] and store.outbox.due(now=2059) == []

    store.outbox.mark_sent(GROUP, ["bai-1", "bai-2"])  # the first sender finished; the second died
    assert [i.notice.article_id for i in store.outbox.claim_due(now=2061)] == ["bai-3"]


# --- feedback, feeds, answer pages ----------------------------------------------------------


def test_a_second_vote_replaces_the_first(store: StateStore) -> None:
    store.feedback.record(Vote("abc", "Hai tỉnh ký gì?", 1, chat_id=1, user_id=2, citations=(("a", 0, 5),)))
    store.feedback.record(Vote("abc", "Hai tỉnh ký gì?", -1, chat_id=1, user_id=2, result_offset=3))
    store.feedback.record(Vote("abc", "Hai tỉnh ký gì?", 1, chat_id=1, user_id=9, citations=(("b", 7, 9),)))

    votes = sorted(store.feedback.votes(), key=lambda v: str(v["user_id"]))
    assert [(v["user_id"], v["vote"], v["result_offset"]) for v in votes] == [(2, -1, 3), (9, 1, 0)]
    assert json.loads(str(votes[1]["citations"])) == [{"article_id": "b", "start": 7, "end": 9}]
    assert votes[0]["question"] == "Hai tỉnh ký gì?" and votes[0]["voted_at"]


def test_a_dislike_keeps_its_reason_and_first_quote_and_the_newest_come_first(store: StateStore) -> None:
    feedback = store.feedback
    feedback.record(Vote("p1", "Hai tỉnh ký gì?", -1, 1, 2, 0, (("a", 0, 5),), "Câu một.", FeedbackReason.WRONG_QUOTE))
    feedback.record(Vote("p2", "Cầu ở đâu?", 1, 1, 2, first_quote="Câu hai."))
    feedback.record(Vote("p3", "Du lịch thế nào?", -1, 1, 3, first_quote="Câu ba."))  # no reason given
    feedback.record(Vote("p4", "Năm 2019?", -1, 1, 2, first_quote="Câu bốn.", reason=FeedbackReason.OUTDATED))
    feedback.record(Vote("p5", "Năm 2020?", -1, 1, 2, first_quote="Câu năm.", reason=FeedbackReason.OUTDATED))
    feedback.record(Vote("p5", "Năm 2020?", 1, 1, 2, first_quote="Câu năm."))  # changed their mind: no 👎 left

    dislikes = feedback.recent(dislikes_only=True)
    assert [(d.vote.answer_id, d.vote.reason) for d in dislikes] == [
        ("p4", FeedbackReason.OUTDATED),
        ("p3", None),
        ("p1", FeedbackReason.WRONG_QUOTE),
    ]
    assert dislikes[-1].vote == Vote(
        "p1", "Hai tỉnh ký gì?", -1, 1, 2, 0, (("a", 0, 5),), "Câu một.", FeedbackReason.WRONG_QUOTE
    )
    assert dislikes[0].voted_at.endswith("+00:00")
    assert [v.vote.answer_id for v in feedback.recent(2)] == ["p5", "p4"]
    assert feedback.dislikes_by_reason() == {
        FeedbackReason.WRONG_QUOTE: 1,
        FeedbackReason.NOT_ANSWERED: 0,
        FeedbackReason.OUTDATED: 1,
        None: 1,
    }


def test_a_sqlite_file_from_before_feedback_reasons_gains_them(tmp_path: Path) -> None:
    import sqlite3

    from storage.sqlite import SQLiteStateStore

    path = tmp_path / "hoptac.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE feedback (answer_id TEXT NOT NULL, user_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, "
            "question TEXT NOT NULL, result_offset INTEGER NOT NULL DEFAULT 0, citations TEXT NOT NULL, "
            "vote INTEGER NOT NULL, voted_at TEXT NOT NULL, PRIMARY KEY (answer_id, user_id))"
        )
        old.execute("INSERT INTO feedback VALUES ('p0', 2, 1, 'Cũ?', 0, '[]', -1, '2025-01-01T00:00:00+00:00')")
    old.close()

    store = SQLiteStateStore(path)
    try:
        store.feedback.record(Vote("p1", "Mới?", -1, 1, 2, first_quote="Câu.", reason=FeedbackReason.NOT_ANSWERED))
        assert [(v.vote.answer_id, v.vote.reason, v.vote.first_quote) for v in store.feedback.recent()] == [
            ("p1", FeedbackReason.NOT_ANSWERED, "Câu."),
            ("p0", None, ""),
        ]
    finally:
        store.close()


def test_feed_state_keeps_validators_polls_and_items(store: StateStore) -> None:
    url, other = "https://baohaiduong.vn/rss", "https://example.org/feed"
    feeds = store.feeds
    assert feeds.validators(url) == (None, None)

    feeds.record_poll(PollOutcome(url, error=None, etag='"v1"', last_modified="Mon, 20 May 2024 08:30:00 GMT", added=2))
    feeds.record_poll(PollOutcome(url, error="HTTP 503", etag='"v2"'))  # a failed poll keeps what it had
    feeds.record_poll(PollOutcome(url, error=None, etag='"v3"', keep_validators=True, added=1))  # so does a partial one
    assert feeds.validators(url) == ('"v1"', "Mon, 20 May 2024 08:30:00 GMT")

    state, never = feeds.states([url, other])
    assert (state.url, state.items_added, state.last_error) == (url, 3, None)
    assert state.last_poll_at and state.last_ok_at and state.last_ok_at.endswith("+00:00")
    assert never == type(never)(other, None, None, None, 0)

    feeds.record_poll(PollOutcome(other, error="timed out"))
    assert feeds.states([other])[0].last_error == "timed out" and feeds.states([other])[0].last_ok_at is None

    feeds.remember([SeenItem("https://a/1", "h1", url, "a-1"), SeenItem("https://a/2", "h2", url, "a-2")])
    feeds.remember([SeenItem("https://a/1", "h9", url, "a-9")])  # already there: kept as it was
    assert feeds.seen_keys(["https://a/1", "https://a/3"]) == {"https://a/1"}
    assert feeds.seen_hashes(["h1", "h2", "h9"]) == {"h1", "h2"}
    assert feeds.seen_keys([]) == set()


def test_an_answer_page_survives_a_restart_with_its_citations_intact(open_store: OpenStore) -> None:
    marked = replace(CITATION, is_caption=True, less_related=True, unit_notes=("Bắc Giang nay thuộc tỉnh Bắc Ninh",))
    page = AnswerPage("cầu Đồng Việt ở đâu?", chat_id=SUPERGROUP, user_id=7, offset=3, citations=(CITATION, marked))
    first = open_store()
    page_id = first.answer_pages.add(page)
    first.close()

    again = open_store()
    assert len(page_id) == 8
    assert again.answer_pages.get(page_id) == page
    assert again.answer_pages.get("unknown") is None


def test_only_the_newest_answer_pages_are_kept(store: StateStore) -> None:
    pages = store.answer_pages
    pages.capacity = 3  # type: ignore[attr-defined]
    ids = [pages.add(AnswerPage(f"câu {i}", 1, 2, 0, ())) for i in range(5)]
    assert len(pages) == 3
    assert pages.get(ids[0]) is None and pages.get(ids[1]) is None
    assert pages.get(ids[-1]) == AnswerPage("câu 4", 1, 2, 0, ())
    pages.clear()
    assert len(pages) == 0


# --- several processes on one database (PostgreSQL) ------------------------------------------


def test_replicas_announcing_and_claiming_at_once_queue_and_send_each_notice_once(postgres_url: str) -> None:
    from storage.postgres import PostgresStateStore, upgrade

    upgrade(postgres_url)
    replicas = [PostgresStateStore(postgres_url) for _ in range(4)]
    try:
        replicas[0].outbox.record_baseline([])
        for chat in range(1, 21):
            replicas[0].subscriptions.add(chat, "private", "", chat)
        start = threading.Barrier(len(replicas))
        queued: list[int] = []
        claimed: list[tuple[int, str]] = []

        def replica(store: StateStore) -> None:
            start.wait()
            queued.append(store.outbox.announce([notice(n) for n in range(1, 11)], now=1000))
            start.wait()
            while batch := store.outbox.claim_due(now=2000, limit=7):
                claimed.extend((i.chat_id, i.notice.article_id) for i in batch)

        threads = [threading.Thread(target=replica, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert sorted(queued) == [0, 0, 0, 200]
        assert len(claimed) == 200 and len(set(claimed)) == 200
    finally:
        for store in replicas:
            store.close()
