"""Articles in PostgreSQL, the system of record when ``HOPTAC_DATABASE_URL`` is set.

    store = ArticleStore(db)
    store.upsert(articles, batch="ingest-...")   # {id: "new" | "updated" | "unchanged"}; jobs queued
    store.delete(["some-id"], batch="...")       # marked deleted; a "remove" job queued
    store.get(["some-id"])                       # [retrieval.models.Article]
    store.live_ids_and_hashes()                  # {id: content hash} of every live article

A changed article and the job that tells the search engine about it are written in one
transaction: no article is stored without its job, no job names an article not stored.
An article is "unchanged" when its content hash (hex of
:func:`retrieval.article_file.article_digest`, the digest the search engine reports for
what it holds) is the stored one; only new and changed articles are queued.

At the entrance every article is put in the form the corpus folder would store: NFC text
and ``published`` in Vietnam time (so the hash computed here is the hash of what
:meth:`get` gives back), and refused (:class:`~retrieval.articles.corpus.ArticleFormatError`) when
the corpus folder could not store it either (no id, title or body, a naive date).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from psycopg import Cursor
from psycopg.rows import DictRow

from retrieval.articles.corpus import VIETNAM_TZ, article_to_markdown
from retrieval.articles.records import article_digest
from retrieval.models import Article
from retrieval.vietnamese.text import nfc
from storage.postgres.database import Database
from storage.postgres.ingest_jobs import enqueue, first_column

Change = Literal["new", "updated", "unchanged"]

_COLUMNS = "id, title, published, source, url, tags, sapo, text, content_hash, deleted"

# One statement for a whole batch: columns sent as arrays (tags as JSON, one array per article).
_UPSERT = """
INSERT INTO articles (id, title, published, source, url, tags, sapo, text, content_hash, deleted, updated_at)
SELECT src.id, src.title, src.published, src.source, src.url,
       ARRAY(SELECT jsonb_array_elements_text(src.tags)), src.sapo, src.text, src.content_hash, false, now()
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::jsonb[], %s::text[],
            %s::text[], %s::text[]) AS src (id, title, published, source, url, tags, sapo, text, content_hash)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, published = excluded.published, source = excluded.source, url = excluded.url,
    tags = excluded.tags, sapo = excluded.sapo, text = excluded.text, content_hash = excluded.content_hash,
    deleted = false, updated_at = now()
WHERE articles.deleted OR articles.content_hash <> excluded.content_hash
RETURNING id
"""


def entrance(article: Article) -> Article:
    """``article`` as the system of record keeps it: NFC strings, ``published`` in Vietnam
    time (naive: taken to be Vietnam time, as the corpus reads hand-edited dates).

    Raises :class:`~retrieval.articles.corpus.ArticleFormatError` for an article the corpus folder
    could not store (the local index is derived from these rows through that folder)."""
    published = article.published
    if published is not None:
        published = (published.replace(tzinfo=VIETNAM_TZ) if published.utcoffset() is None else published).astimezone(
            VIETNAM_TZ
        )
    cleaned = replace(
        article,
        id=nfc(article.id),
        title=nfc(article.title),
        published=published,
        source=nfc(article.source),
        text=nfc(article.text),
        url=None if article.url is None else nfc(article.url),
        tags=tuple(nfc(tag) for tag in article.tags),
        sapo=None if article.sapo is None else nfc(article.sapo),
    )
    article_to_markdown(cleaned)  # the corpus format's checks
    return cleaned


def content_hash(article: Article) -> str:
    """The hash stored beside an article (and reported by the search engine for it)."""
    return article_digest(article).hex()


def _article(row: DictRow) -> Article:
    published: datetime | None = row["published"]
    return Article(
        id=row["id"],
        title=row["title"],
        published=None if published is None else published.astimezone(VIETNAM_TZ),
        source=row["source"],
        text=row["text"],
        url=row["url"],
        tags=tuple(row["tags"]),
        sapo=row["sapo"],
    )


class ArticleStore:
    """The ``articles`` table and the jobs its changes queue. Blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, articles: Iterable[Article], batch: str) -> dict[str, Change]:
        """Store ``articles`` (an id given twice keeps its first article, as imports do) and queue a
        ``put`` job for each new or changed one, in one transaction; what happened to each id."""
        unique: dict[str, Article] = {}
        for article in articles:
            cleaned = entrance(article)
            unique.setdefault(cleaned.id, cleaned)
        if not unique:
            return {}
        ids = list(unique)
        with self.db.transaction() as sql:
            before = {
                row["id"]: row
                for row in sql.execute(
                    "SELECT id, deleted FROM articles WHERE id = ANY(%s) FOR UPDATE", (ids,)
                ).fetchall()
            }
            written = _write(sql, list(unique.values()), batch)
        changed = set(written)
        result: dict[str, Change] = {}
        for article_id in ids:
            old = before.get(article_id)
            if article_id not in changed:
                result[article_id] = "unchanged"
            elif old is None or old["deleted"]:
                result[article_id] = "new"
            else:
                result[article_id] = "updated"
        return result

    def delete(self, article_ids: Sequence[str], batch: str) -> list[str]:
        """Mark these live articles deleted and queue a ``remove`` job for each; the ids deleted
        (unknown or already deleted ones are ignored)."""
        ids = list(dict.fromkeys(nfc(i) for i in article_ids))
        with self.db.transaction() as sql:
            rows = sql.execute(
                "UPDATE articles SET deleted = true, updated_at = now() "
                "WHERE id = ANY(%s) AND NOT deleted RETURNING id",
                (ids,),
            ).fetchall()
            deleted = [row["id"] for row in rows]
            enqueue(sql, batch, [(article_id, "remove", None) for article_id in deleted])
        return deleted

    def get(self, article_ids: Sequence[str]) -> list[Article]:
        """The live articles among ``article_ids``, in that order (unknown and deleted ones left out)."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM articles WHERE id = ANY(%s) AND NOT deleted", (list(article_ids),)
        )
        by_id = {row["id"]: _article(row) for row in rows}
        return [by_id[i] for i in dict.fromkeys(article_ids) if i in by_id]

    def deleted_among(self, article_ids: Sequence[str]) -> list[str]:
        """The ids among ``article_ids`` whose articles are marked deleted."""
        rows = self.db.query("SELECT id FROM articles WHERE id = ANY(%s) AND deleted ORDER BY id", (list(article_ids),))
        return [row["id"] for row in rows]

    def live_chunks(self, size: int = 500) -> Iterator[list[Article]]:
        """Every live article, in id order, ``size`` at a time (a full rebuild of the search index
        reads them so, never the whole corpus in memory at once)."""
        after = ""
        while rows := self.db.query(
            f"SELECT {_COLUMNS} FROM articles WHERE NOT deleted AND id > %s ORDER BY id LIMIT %s", (after, size)
        ):
            yield [_article(row) for row in rows]
            after = rows[-1]["id"]

    def live_ids_and_hashes(self) -> dict[str, str]:
        """Every live article: id -> content hash."""
        rows = self.db.query("SELECT id, content_hash FROM articles WHERE NOT deleted ORDER BY id")
        return {row["id"]: row["content_hash"] for row in rows}

    def count(self) -> int:
        """Live articles."""
        rows = self.db.query("SELECT count(*) AS n FROM articles WHERE NOT deleted")
        return int(rows[0]["n"])


def _columns(listed: Sequence[Article], hashes: dict[str, str]) -> list[list[Any]]:
    return [
        [a.id for a in listed],
        [a.title for a in listed],
        [a.published for a in listed],
        [a.source for a in listed],
        [a.url for a in listed],
        [json.dumps(list(a.tags), ensure_ascii=False) for a in listed],
        [a.sapo for a in listed],
        [a.text for a in listed],
        [hashes[a.id] for a in listed],
    ]


def _write(sql: Cursor[Any], articles: Sequence[Article], batch: str) -> list[str]:
    hashes = {article.id: content_hash(article) for article in articles}
    written = [first_column(row) for row in sql.execute(_UPSERT, _columns(articles, hashes)).fetchall()]
    enqueue(sql, batch, [(article_id, "put", hashes[article_id]) for article_id in written])
    return written


def upsert_in(sql: Cursor[Any], articles: Sequence[Article], batch: str) -> list[str]:
    """Within a transaction the caller holds (``hoptac db import-embedded``): store the new or
    changed ``articles`` (an id given twice keeps its first) and queue their ``put`` jobs; the ids written."""
    unique: dict[str, Article] = {}
    for article in articles:
        cleaned = entrance(article)
        unique.setdefault(cleaned.id, cleaned)
    return _write(sql, list(unique.values()), batch) if unique else []


__all__ = ["ArticleStore", "Change", "content_hash", "entrance", "upsert_in"]
