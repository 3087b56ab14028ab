"""Several replicas on one database: the singletons' leases and the updates already taken.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE leases (
            name       TEXT        PRIMARY KEY,  -- a singleton: outbox-sender, feed-poll, corpus-watch
            holder     TEXT        NOT NULL,     -- replica/pid-random of the process holding it
            expires_at TIMESTAMPTZ NOT NULL      -- the server's clock; another may take it after
        );

        CREATE TABLE processed_updates (
            update_id  BIGINT      PRIMARY KEY,  -- Telegram's update_id: taken once across replicas
            replica    TEXT        NOT NULL,
            taken_at   TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX processed_updates_age ON processed_updates (taken_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE processed_updates, leases;")
