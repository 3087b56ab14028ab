"""The bot's state: subscriptions, the outbox, feedback, feed state, answer pages.

The same tables as the SQLite backend, in PostgreSQL's types: chat and user ids are
BIGINT (Telegram's ids pass 2**31), moments are TIMESTAMPTZ, citations are JSONB.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE subscriptions (
            chat_id       BIGINT      PRIMARY KEY,
            chat_type     TEXT        NOT NULL,  -- private, group, supergroup, channel
            title         TEXT        NOT NULL DEFAULT '',
            subscribed_by BIGINT,                -- Telegram user id
            subscribed_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );

        CREATE TABLE announced_articles (
            article_id   TEXT        PRIMARY KEY,  -- enters once, ever: the outbox's exactly-once rests on it
            first_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
            baseline     BOOLEAN     NOT NULL DEFAULT false,  -- indexed before notifications began
            title        TEXT        NOT NULL DEFAULT '',
            url          TEXT,
            published    TEXT,                                -- ISO 8601, as in the corpus
            source       TEXT        NOT NULL DEFAULT '',
            lead         TEXT        NOT NULL DEFAULT '',     -- the first sentence or two, verbatim
            summary_only BOOLEAN     NOT NULL DEFAULT false
        );

        CREATE TABLE outbox (
            chat_id         BIGINT      NOT NULL,
            article_id      TEXT        NOT NULL REFERENCES announced_articles (article_id),
            status          TEXT        NOT NULL DEFAULT 'pending'
                                        CHECK (status IN ('pending', 'sent', 'dropped', 'failed')),
            attempts        INTEGER     NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL,  -- due when <= now; pushed on by a claim or a retry
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            sent_at         TIMESTAMPTZ,
            last_error      TEXT,
            PRIMARY KEY (chat_id, article_id)
        );
        CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

        CREATE TABLE outbox_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE feedback (
            answer_id     TEXT        NOT NULL,  -- the bot's short id of the answer message
            user_id       BIGINT      NOT NULL,
            chat_id       BIGINT      NOT NULL,
            question      TEXT        NOT NULL,
            result_offset INTEGER     NOT NULL DEFAULT 0,
            citations     JSONB       NOT NULL,  -- [{"article_id", "start", "end"}, ...]
            vote          SMALLINT    NOT NULL CHECK (vote IN (-1, 1)),
            voted_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (answer_id, user_id)
        );

        CREATE TABLE feeds (
            url           TEXT        PRIMARY KEY,
            etag          TEXT,                  -- sent back as If-None-Match
            last_modified TEXT,                  -- sent back as If-Modified-Since
            last_poll_at  TIMESTAMPTZ,
            last_ok_at    TIMESTAMPTZ,
            last_error    TEXT,                  -- NULL when the last poll went well
            items_added   INTEGER     NOT NULL DEFAULT 0
        );

        CREATE TABLE feed_items (
            item_key     TEXT        PRIMARY KEY,  -- the item's link (else its guid)
            content_hash TEXT        NOT NULL,     -- the same article under another URL
            feed_url     TEXT        NOT NULL,
            article_id   TEXT        NOT NULL,
            added_at     TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX feed_items_hash ON feed_items (content_hash);

        CREATE TABLE answer_pages (
            page_id       TEXT        PRIMARY KEY,  -- 8 URL-safe characters, carried by the buttons
            seq           BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,  -- age: the newest are kept
            question      TEXT        NOT NULL,
            chat_id       BIGINT      NOT NULL,
            user_id       BIGINT      NOT NULL,
            result_offset INTEGER     NOT NULL,
            citations     JSONB       NOT NULL,     -- the citations shown, as storage.records has them
            created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE answer_pages, feed_items, feeds, feedback, outbox_meta, outbox, announced_articles, subscriptions;
        """
    )
