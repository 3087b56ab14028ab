"""Alembic's entry point for hoptac's migrations; only ``hoptac db upgrade`` runs it.

It is given an open connection (in a transaction, under the migration lock) by
:func:`storage.postgres.schema.upgrade`; run by the ``alembic`` command instead, it stops.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("hoptac's migrations are applied by `hoptac db upgrade` (HOPTAC_DATABASE_URL), not by alembic")
if context.is_offline_mode():
    raise SystemExit("hoptac's migrations run against a database, not offline")
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
