"""Connecting to PostgreSQL without ever showing the password.

with connect(url) as connection: ...   # or StateStoreError, in one line, password taken out
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from storage.errors import StateStoreError

CONNECT_TIMEOUT_S = 10


def _password(url: str) -> str | None:
    try:
        return conninfo_to_dict(url).get("password") or None  # type: ignore[return-value]
    except psycopg.Error:
        return None


def redact(message: str, url: str) -> str:
    """``message`` without the password of ``url`` (drivers sometimes quote the conninfo)."""
    password = _password(url)
    return message.replace(str(password), "***") if password else message


def connection_error(error: psycopg.Error, url: str) -> StateStoreError:
    """A one-line, password-free :class:`StateStoreError` for a driver error."""
    text = " ".join(redact(str(error), url).split()) or type(error).__name__
    return StateStoreError(f"cannot use the PostgreSQL database (HOPTAC_DATABASE_URL): {text}")


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """One connection to ``url``, or a :class:`StateStoreError`."""
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, **kwargs)
    except psycopg.Error as exc:
        raise connection_error(exc, url) from None
