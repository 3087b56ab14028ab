"""The PostgreSQL schema's versions: alembic migrations in ``migrations/versions/``.

    upgrade(url)            # `hoptac db upgrade`: applies what is missing; nothing when up to date
    check_schema(conn)      # on every open: SchemaOutOfDate unless the database is at the code's head

The migrations are plain SQL run by alembic (SQLAlchemy only as alembic needs it, over
psycopg 3); they ship inside the package. Two ``hoptac db upgrade`` at once take turns
on an advisory lock, so replicas started together cannot both migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.errors import SchemaOutOfDate, StateStoreError

if TYPE_CHECKING:
    import psycopg
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key held while migrating ("hoptac" in ASCII).
MIGRATION_LOCK = 0x686F70746163
UPGRADE_HINT = "run `hoptac db upgrade`"


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """The revision this code needs."""
    head = _scripts().get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(connection: psycopg.Connection[Any]) -> str | None:
    """The database's revision; None when it has no hoptac schema yet."""
    row = connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return None
    found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if found is None else str(found[0])


def check_schema(connection: psycopg.Connection[Any]) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database's schema is the code's."""
    current = current_revision(connection)
    connection.rollback()  # leave no transaction open
    scripts = _scripts()
    head = scripts.get_current_head()
    if current == head:
        return
    if current is None:
        raise SchemaOutOfDate(f"the PostgreSQL database has no hoptac schema yet: {UPGRADE_HINT}")
    if current not in _known(scripts):
        raise _newer(current, head)
    raise SchemaOutOfDate(
        f"the PostgreSQL database's schema is older than this version of hoptac ({current}, it needs {head}): "
        f"{UPGRADE_HINT}"
    )


def _known(scripts: ScriptDirectory) -> set[str]:
    return {script.revision for script in scripts.walk_revisions()}


def _newer(current: str, head: str | None) -> SchemaOutOfDate:
    return SchemaOutOfDate(
        f"the PostgreSQL database's schema ({current}) is newer than this version of hoptac knows "
        f"(it needs {head}): upgrade hoptac"
    )


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _migrate(url: str, revision: str, *, down: bool) -> tuple[str | None, str | None]:
    import psycopg
    import sqlalchemy
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError
    from sqlalchemy.pool import NullPool

    from storage.postgres.connection import connect, connection_error

    # SQLAlchemy gets its connection from psycopg itself: the URL is read once, by libpq.
    engine = sqlalchemy.create_engine("postgresql+psycopg://", creator=lambda: connect(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            before = MigrationContext.configure(connection).get_current_revision()
            scripts = _scripts()
            if before is not None and before not in _known(scripts):
                raise _newer(before, scripts.get_current_head())
            config = _config()
            config.attributes["connection"] = connection
            if down:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
            after = MigrationContext.configure(connection).get_current_revision()
    except sqlalchemy.exc.DBAPIError as exc:
        if isinstance(exc.orig, psycopg.Error):
            raise connection_error(exc.orig, url) from None
        raise
    except CommandError as exc:
        raise StateStoreError(f"cannot migrate the PostgreSQL database: {' '.join(str(exc).split())}") from None
    finally:
        engine.dispose()
    return before, after


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply the migrations ``url``'s database lacks, in one transaction; (revision before, after)."""
    return _migrate(url, revision, down=False)


def downgrade(url: str, revision: str) -> tuple[str | None, str | None]:
    """Undo migrations down to ``revision`` (``"base"``: an empty schema). For developers and tests."""
    return _migrate(url, revision, down=True)


__all__ = ["SchemaOutOfDate", "StateStoreError", "check_schema", "current_revision", "downgrade", "upgrade"]
