"""Updates answered, not only taken: a replica that dies while answering leaves its update
to another (webhook mode answers Telegram only once the update is handled).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The updates taken before this revision count as answered (as they were treated).
    op.execute(
        """
        ALTER TABLE processed_updates ADD COLUMN answered_at TIMESTAMPTZ;
        UPDATE processed_updates SET answered_at = taken_at;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE processed_updates DROP COLUMN answered_at;")
