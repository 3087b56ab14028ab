"""Which generation of the shared search engine's index is live (one row, ``index_generation``).

    live_generation(db)            # None until one is set
    set_live_generation(db, name)  # a rebuilt generation swapped in, for every replica at once

A full rebuild writes a new generation (new Milvus collections) beside the live one while
workers keep the live one current, then swaps it in. The swap itself is in Milvus (its
``{prefix}_meta`` collection, which every replica reads, so ``HOPTAC_SEARCH_URL`` works
without a database too); this row records it where the rest of the system of record is
(``hoptac reindex`` with a database writes it), for operators and backups.
"""

from __future__ import annotations

from storage.postgres.database import Database


def live_generation(db: Database) -> str | None:
    rows = db.query("SELECT name FROM index_generation")
    return str(rows[0]["name"]) if rows else None


def set_live_generation(db: Database, name: str) -> None:
    with db.transaction() as sql:
        sql.execute(
            "INSERT INTO index_generation (only_row, name, updated_at) VALUES (true, %s, now()) "
            "ON CONFLICT (only_row) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            (name,),
        )
