"""The PostgreSQL schema's versions and `hoptac db upgrade`, on a real server: migrations
make an empty database whole and change nothing the second time; a database behind (or
ahead of) the code is refused in one line that says what to do; the password never shows."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hoptac.cli import main
from storage.errors import SchemaOutOfDate, StateStoreError
from storage.postgres import PostgresStateStore
from storage.postgres.connection import redact
from storage.postgres.schema import downgrade, head_revision, upgrade

TABLES = {
    "alembic_version", "announced_articles", "answer_pages", "feed_items", "feedback", "feeds", "outbox",
    "outbox_meta", "subscriptions", "subscription_filters", "leases", "processed_updates", "articles", "ingest_jobs",
    "index_generation",
}  # fmt: skip
TOKEN = "123456789:AAHk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0Ge"
UPGRADE = "run `hoptac db upgrade`"


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {row[0] for row in rows}


def test_migrations_make_an_empty_database_whole_and_are_idempotent(postgres_url: str) -> None:
    assert tables(postgres_url) == set()
    assert upgrade(postgres_url) == (None, head_revision())
    assert tables(postgres_url) == TABLES
    assert upgrade(postgres_url) == (head_revision(), head_revision())  # nothing to do
    store = PostgresStateStore(postgres_url)
    store.subscriptions.add(1, "private", "", 1)
    store.close()
    assert upgrade(postgres_url) == (head_revision(), head_revision())
    again = PostgresStateStore(postgres_url)
    assert again.subscriptions.count() == 1  # data kept
    again.close()


def test_a_database_without_the_schema_or_behind_it_says_to_run_the_upgrade(postgres_url: str) -> None:
    with pytest.raises(SchemaOutOfDate) as empty:
        PostgresStateStore(postgres_url)
    assert str(empty.value) == f"the PostgreSQL database has no hoptac schema yet: {UPGRADE}"

    upgrade(postgres_url)
    downgrade(postgres_url, "base")  # at the start of history: the version table is there, empty
    assert tables(postgres_url) == {"alembic_version"}
    with pytest.raises(SchemaOutOfDate, match="hoptac db upgrade"):
        PostgresStateStore(postgres_url)


def test_a_database_ahead_of_the_code_says_to_upgrade_hoptac(postgres_url: str) -> None:
    upgrade(postgres_url)
    with psycopg.connect(postgres_url) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaOutOfDate) as ahead:
        PostgresStateStore(postgres_url)
    assert "(9999) is newer than this version of hoptac" in str(ahead.value)
    assert str(ahead.value).endswith("upgrade hoptac")
    with pytest.raises(SchemaOutOfDate, match="newer"):  # an older hoptac does not touch it
        upgrade(postgres_url)


def test_db_upgrade_from_the_command_line(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database schema upgraded from empty to revision {head_revision()}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database schema already up to date (revision {head_revision()})\n"


def test_db_upgrade_without_a_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOPTAC_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("hoptac: error: HOPTAC_DATABASE_URL is not set") and captured.err.count("\n") == 1


def test_the_bot_on_an_old_schema_stops_before_the_model_loads_in_one_line(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_DATABASE_URL", postgres_url)
    monkeypatch.setenv("HOPTAC_TELEGRAM_TOKEN", TOKEN)

    def no_engine(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine must not be opened")

    monkeypatch.setattr("hoptac.wiring.open_engine", no_engine)
    assert main(["--data-dir", str(tmp_path), "bot"]) == 1
    assert capsys.readouterr().err == f"hoptac: error: the PostgreSQL database has no hoptac schema yet: {UPGRADE}\n"


def test_a_database_out_of_reach_is_one_line_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://hoptac:s3cr3t-pw@/hoptac?host={tmp_path}"  # no server listens there
    with pytest.raises(StateStoreError) as error:
        PostgresStateStore(url)
    assert "s3cr3t-pw" not in str(error.value) and "\n" not in str(error.value)

    monkeypatch.setenv("HOPTAC_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hoptac: error: cannot use the PostgreSQL database (HOPTAC_DATABASE_URL): ")
    assert err.count("\n") == 1 and "s3cr3t-pw" not in err


def test_a_url_that_is_not_postgresql_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_DATABASE_URL", "mysql://hoptac:s3cr3t-pw@db/hoptac")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hoptac: error: invalid setting database_url (HOPTAC_DATABASE_URL): ")
    assert "s3cr3t-pw" not in err and err.count("\n") == 1


def test_help_lists_the_db_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "    db " in capsys.readouterr().out


def test_a_failed_transaction_leaves_nothing_behind(postgres_url: str) -> None:
    upgrade(postgres_url)
    store = PostgresStateStore(postgres_url)
    try:
        with pytest.raises(RuntimeError), store.database.transaction() as sql:
            sql.execute("INSERT INTO subscriptions (chat_id, chat_type) VALUES (1, 'private')")
            raise RuntimeError("the bot died half-way")
        assert store.subscriptions.count() == 0
        assert store.subscriptions.add(1, "private", "", None)  # the pooled connection is clean again
    finally:
        store.close()


def test_the_password_is_taken_out_of_driver_messages() -> None:
    url = "postgresql://hoptac:s3cr3t-pw@db.example.org:5432/hoptac"
    assert redact('password "s3cr3t-pw" rejected', url) == 'password "***" rejected'
    assert redact("no password here", "postgresql://hoptac@db/hoptac") == "no password here"


def test_the_settings_choose_the_backend(postgres_url: str, tmp_path: Path) -> None:
    from pydantic import SecretStr

    from hoptac.settings import Settings
    from hoptac.wiring import open_state_store
    from storage.sqlite import SQLiteStateStore

    upgrade(postgres_url)
    chosen = open_state_store(Settings(data_dir=tmp_path, database_url=SecretStr(postgres_url)))
    assert isinstance(chosen, PostgresStateStore)
    chosen.close()
    assert postgres_url not in repr(Settings(database_url=SecretStr(postgres_url)))
    default = open_state_store(Settings(data_dir=tmp_path, database_url=None))
    assert isinstance(default, SQLiteStateStore)
    default.close()
