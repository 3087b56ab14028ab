"""An article as one JSON record, and the digest of its content (the same on every backend)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from retrieval.models import Article


def article_digest(article: Article) -> bytes:
    """SHA-256 of one article's metadata and text."""
    digest = hashlib.sha256()
    digest.update(json.dumps(article.metadata(), ensure_ascii=False, sort_keys=True).encode())
    digest.update(b"\x00")
    digest.update(article.text.encode())
    digest.update(b"\x01")
    return digest.digest()


def article_to_json(article: Article) -> str:
    record = article.metadata()
    record["text"] = article.text
    record["sapo"] = article.sapo
    return json.dumps(record, ensure_ascii=False)


def article_from_json(line: str | bytes) -> Article:
    record = json.loads(line)
    published = datetime.fromisoformat(record["published"]) if record.get("published") else None
    return Article(
        id=record["id"],
        title=record["title"],
        published=published,
        source=record.get("source") or "",
        text=record["text"],
        url=record.get("url"),
        tags=tuple(record.get("tags") or ()),
        sapo=record.get("sapo"),
    )
