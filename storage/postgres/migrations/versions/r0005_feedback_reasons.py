"""Feedback admins can act on: a 👎's reason (the bot asks for one; giving it is optional)
and the first quote of the answer voted on, verbatim, for `/feedback` and `hoptac feedback
export`. Votes cast before this revision have neither.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE feedback
            ADD COLUMN reason TEXT CHECK (reason IN ('wrong_quote', 'not_answered', 'outdated')),
            ADD COLUMN first_quote TEXT;
        CREATE INDEX feedback_recent ON feedback (voted_at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX feedback_recent;
        ALTER TABLE feedback DROP COLUMN reason, DROP COLUMN first_quote;
        """
    )
