"""Subscriptions by place and topic: a chat's filters (a 2025 province-level unit, a keyword,
or everything); a chat may hold several and is subscribed while it holds one. Chats
subscribed before this revision hear everything, as they did: each gets that filter.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE subscription_filters (
            chat_id  BIGINT      NOT NULL,          -- a subscribed chat
            kind     TEXT        NOT NULL CHECK (kind IN ('all', 'place', 'keyword')),
            value    TEXT        NOT NULL DEFAULT '',  -- place: the 2025 unit ("Hải Phòng"); keyword: its words
            added_by BIGINT,                        -- Telegram user id
            added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (chat_id, kind, value)
        );
        INSERT INTO subscription_filters (chat_id, kind, value, added_by, added_at)
        SELECT chat_id, 'all', '', subscribed_by, subscribed_at FROM subscriptions;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE subscription_filters")
