"""What several replicas share in the state store (a real PostgreSQL server, and SQLite for
the single-process default): singleton leases and the Telegram updates already taken."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from storage.interfaces import StateStore
from storage.leases import AlwaysHeld, Singletons
from storage.postgres import PostgresStateStore, upgrade
from storage.sqlite import SQLiteStateStore

TTL_S = 0.5  # short leases: a test waits for one to lapse
DEADLINE_S = 10.0


@pytest.fixture
def postgres(postgres_url: str):  # type: ignore[no-untyped-def]
    upgrade(postgres_url)
    stores: list[PostgresStateStore] = []

    def open_store() -> PostgresStateStore:
        stores.append(PostgresStateStore(postgres_url))
        return stores[-1]

    yield open_store
    for store in stores:
        store.close()


def test_a_lease_is_one_holders_until_it_lapses_or_is_released(postgres) -> None:  # type: ignore[no-untyped-def]
    one, two = postgres(), postgres()  # two replicas, each with its own pool
    first, second = one.leases("bot-1/1-aaaaaa", TTL_S), two.leases("bot-2/2-bbbbbb", TTL_S)

    assert first.hold("outbox-sender") and first.hold("outbox-sender")  # taken, then renewed
    assert not second.hold("outbox-sender")
    assert second.hold("feed-poll")  # another singleton: free
    assert first.holder_of("outbox-sender") == "bot-1/1-aaaaaa"

    first.release("outbox-sender")  # a clean shutdown: the other takes it at once
    assert second.hold("outbox-sender") and not first.hold("outbox-sender")

    # bot-2 dies (stops renewing): its leases lapse after TTL_S, and only then are taken.
    died_at = time.monotonic()
    while not first.hold("outbox-sender"):
        assert time.monotonic() - died_at < DEADLINE_S, "the lease never lapsed"
        time.sleep(0.02)
    assert time.monotonic() - died_at >= TTL_S * 0.8  # not before it lapsed (the server's clock)
    assert first.holder_of("outbox-sender") == "bot-1/1-aaaaaa"
    assert not second.hold("outbox-sender")


def test_singletons_are_held_only_while_renewed(postgres) -> None:  # type: ignore[no-untyped-def]
    one, two = postgres(), postgres()
    names = ["outbox-sender", "feed-poll"]
    first = Singletons(one.leases("bot-1/1-aaaaaa", TTL_S), names, TTL_S)
    second = Singletons(two.leases("bot-2/2-bbbbbb", TTL_S), names, TTL_S)

    assert first.renew() == {"outbox-sender": True, "feed-poll": True}
    assert second.renew() == {"outbox-sender": False, "feed-poll": False}
    assert first.holds("outbox-sender") and not second.holds("outbox-sender")

    # first stops renewing: it stops counting the lease as its own before anyone can take it.
    stopped = time.monotonic()
    while first.holds("outbox-sender"):
        assert time.monotonic() - stopped < DEADLINE_S
        time.sleep(0.02)
    while not all(second.renew().values()):  # each lapses TTL_S after its own renewal
        assert time.monotonic() - stopped < DEADLINE_S
        time.sleep(0.02)
    assert second.held() == {"outbox-sender": True, "feed-poll": True}

    second.release_all()
    assert first.renew() == {"outbox-sender": True, "feed-poll": True}


def test_one_process_on_sqlite_always_holds_its_singletons(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    leases = store.leases("bot/1-aaaaaa", 20)
    assert isinstance(leases, AlwaysHeld) and leases.hold("outbox-sender")
    singletons = Singletons(leases, ["outbox-sender"], 20)
    assert singletons.renew() == {"outbox-sender": True} and singletons.holds("outbox-sender")
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        opened: StateStore = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
        yield opened
        opened.close()
    else:
        yield request.getfixturevalue("postgres")()


def test_an_update_is_taken_once_and_forgotten_after_a_while(store: StateStore) -> None:
    assert store.updates.first_time(101, "bot-1")
    assert not store.updates.first_time(101, "bot-2")  # re-delivered to another replica
    assert store.updates.first_time(102, "bot-2")
    assert store.updates.prune(3600) == 0  # nothing that old
    assert store.updates.prune(0) == 2
    assert store.updates.first_time(101, "bot-1")  # forgotten (Telegram never re-delivers that late)


def test_a_webhook_update_claimed_by_a_dead_replica_goes_to_another(postgres) -> None:  # type: ignore[no-untyped-def]
    one, two = postgres(), postgres()
    first = Singletons(one.leases("bot-1/1-aaaaaa", TTL_S), [], TTL_S)
    second = Singletons(two.leases("bot-2/2-bbbbbb", TTL_S), [], TTL_S)
    first.renew(), second.renew()  # both alive: each holds its presence lease
    holder_1, holder_2 = first.leases.holder, second.leases.holder

    assert one.updates.claim(201, holder_1) == "ours"
    assert two.updates.claim(201, holder_2) == "busy"  # bot-1 is answering it: Telegram retries later
    assert one.updates.claim(201, holder_1) == "busy"  # a re-delivery to bot-1 itself, while it answers
    one.updates.answered(201)
    assert two.updates.claim(201, holder_2) == "answered"  # a re-delivery after a lost 2xx: skipped

    assert one.updates.claim(202, holder_1) == "ours"
    # bot-1 dies while answering 202: once its presence lapses, a re-delivery is bot-2's.
    died_at = time.monotonic()
    while (claim := two.updates.claim(202, holder_2)) == "busy":
        assert time.monotonic() - died_at < DEADLINE_S, "the dead replica's claim never lapsed"
        second.renew()
        time.sleep(0.02)
    assert claim == "ours" and time.monotonic() - died_at >= TTL_S * 0.8
    two.updates.answered(202)
    assert one.updates.claim(202, holder_1) == "answered"

    # A replica stopped cleanly gives its presence back: what it claimed moves at once.
    assert two.updates.claim(203, holder_2) == "ours"
    second.release_all()
    first.renew()
    assert one.updates.claim(203, holder_1) == "ours"


def test_one_process_on_sqlite_takes_over_the_claims_of_the_process_before_it(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    assert store.updates.claim(301, "bot/1-aaaaaa") == "ours"
    assert store.updates.claim(301, "bot/1-aaaaaa") == "busy"  # still answering it
    assert store.updates.claim(301, "bot/2-bbbbbb") == "ours"  # restarted: the old process died
    store.updates.answered(301)
    assert store.updates.claim(301, "bot/2-bbbbbb") == "answered"
    assert not store.updates.first_time(301, "bot")
    store.close()


def test_a_sqlite_file_from_before_answered_updates_keeps_its_updates(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "hoptac.sqlite3"
    with sqlite3.connect(path) as old:  # the table as the previous version made it
        old.execute(
            "CREATE TABLE processed_updates "
            "(update_id INTEGER PRIMARY KEY, replica TEXT NOT NULL, taken_at REAL NOT NULL)"
        )
        old.execute("INSERT INTO processed_updates VALUES (401, 'bot', ?)", (time.time(),))
    old.close()
    store = SQLiteStateStore(path)
    assert store.updates.claim(401, "bot/1-aaaaaa") == "answered"  # taken before: it was answered
    assert store.updates.claim(402, "bot/1-aaaaaa") == "ours"
    store.close()
