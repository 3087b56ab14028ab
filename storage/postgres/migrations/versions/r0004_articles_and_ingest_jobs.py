"""Articles in PostgreSQL as the system of record, and the ingest jobs that keep a search
engine in line with them (`hoptac worker`, `hoptac ingest` with HOPTAC_DATABASE_URL).

An article's row is written with its ``put`` (or ``remove``) job in one transaction: the
row is what the article is, the jobs are what the search engine still has to be told.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE articles (
            id           TEXT        PRIMARY KEY,
            title        TEXT        NOT NULL,
            published    TIMESTAMPTZ,                      -- read back in Vietnam time, as the corpus writes it
            source       TEXT        NOT NULL DEFAULT '',
            url          TEXT,
            tags         TEXT[]      NOT NULL DEFAULT '{}',
            sapo         TEXT,
            text         TEXT        NOT NULL,             -- the body, NFC: citations' offsets index into it
            content_hash TEXT        NOT NULL,             -- hex of retrieval.article_file.article_digest
            deleted      BOOLEAN     NOT NULL DEFAULT false,
            updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX articles_live ON articles (id) WHERE NOT deleted;

        CREATE TABLE ingest_jobs (
            id            BIGSERIAL   PRIMARY KEY,          -- claimed oldest first
            batch         TEXT        NOT NULL,             -- one `hoptac ingest` (or import): its progress
            article_id    TEXT        NOT NULL REFERENCES articles (id),
            content_hash  TEXT,                             -- the version to index (put); NULL for remove
            action        TEXT        NOT NULL CHECK (action IN ('put', 'remove')),
            state         TEXT        NOT NULL DEFAULT 'queued'
                                      CHECK (state IN ('queued', 'running', 'done', 'failed', 'superseded')),
            attempts      INTEGER     NOT NULL DEFAULT 0,   -- claims so far
            claimed_by    TEXT,                             -- the worker holding a running job
            claimed_until TIMESTAMPTZ,                      -- running: the claim lapses then; queued: retry not before
            error         TEXT,
            created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at   TIMESTAMPTZ
        );
        CREATE INDEX ingest_jobs_claimable ON ingest_jobs (id) WHERE state IN ('queued', 'running');
        CREATE INDEX ingest_jobs_article ON ingest_jobs (article_id, id);
        CREATE INDEX ingest_jobs_batch ON ingest_jobs (batch);

        CREATE TABLE index_generation (
            only_row   BOOLEAN     PRIMARY KEY DEFAULT true CHECK (only_row),  -- at most one row
            name       TEXT        NOT NULL,  -- the search engine's live generation (e.g. a collection)
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE index_generation, ingest_jobs, articles;")
