"""Why the state store cannot be opened, in words the person running hoptac can act on."""

from __future__ import annotations


class StateStoreError(Exception):
    """The state store cannot be used as it is; the message (one line) says what to do.

    It never holds the database password: messages are built without the URL, and
    errors from the driver are passed through :func:`storage.postgres.database.redact`.
    """


class SchemaOutOfDate(StateStoreError):
    """The database's schema is not the one this hoptac was written for."""
