"""The articles of an index segment on disk, read one at a time when a question needs them.

A segment keeps its articles as JSON lines (``articles.jsonl``) with three small files
beside them: each line's byte offset, each article's id and publication date, and each
article's SHA-256 (:func:`article_digest`). Loading reads only the small files (a million
passages are about 150,000 articles, whose text would take a gigabyte as Python strings);
an article is parsed when a question cites it, and its digest is checked then, so a
damaged line is never quoted, even before the background check of the whole file ends.

    articles = ArticleFile.load(folder)
    articles.ids[7], articles.published[7]   # no text read
    articles[7]                              # parsed, checked, cached
"""

from __future__ import annotations

import functools
import hashlib
import json
import mmap
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import overload

import numpy as np

from retrieval.index_errors import IndexCorruptError
from retrieval.models import Article

ARTICLES_FILE = "articles.jsonl"
OFFSETS_FILE = "article_offsets.npy"
KEYS_FILE = "article_keys.json"
DIGESTS_FILE = "article_digests.npy"
FILES = (ARTICLES_FILE, OFFSETS_FILE, KEYS_FILE, DIGESTS_FILE)
#: Parsed articles kept per segment (a question cites a handful).
CACHED_ARTICLES = 4096


class ArticleDamagedError(IndexCorruptError):
    """A stored article does not match its digest: it is never quoted."""


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


def write_articles(folder: Path, articles: Sequence[Article], digests: Sequence[bytes]) -> None:
    """The four files of ``articles`` in ``folder``."""
    offsets = np.zeros(len(articles) + 1, dtype=np.int64)
    with (folder / ARTICLES_FILE).open("wb") as handle:
        for i, article in enumerate(articles):
            line = (article_to_json(article) + "\n").encode()
            handle.write(line)
            offsets[i + 1] = offsets[i] + len(line)
    np.save(folder / OFFSETS_FILE, offsets)
    keys = [[a.id, a.published.isoformat() if a.published else None] for a in articles]
    (folder / KEYS_FILE).write_text(json.dumps(keys, ensure_ascii=False), "utf-8")
    table = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(articles), 32)
    np.save(folder / DIGESTS_FILE, table)


class ArticleFile(Sequence[Article]):
    """A segment's stored articles (see the module docstring); read-only."""

    def __init__(
        self, data: mmap.mmap | bytes, offsets: np.ndarray, keys: list[list[str | None]], digests: np.ndarray
    ) -> None:
        self._data = data
        self._offsets = offsets
        self.ids: list[str] = [str(key[0]) for key in keys]
        self.published: list[datetime | None] = [datetime.fromisoformat(k[1]) if k[1] else None for k in keys]
        self.digests = digests
        self._read = functools.lru_cache(maxsize=CACHED_ARTICLES)(self._parse)

    @classmethod
    def load(cls, folder: Path) -> ArticleFile:
        """The segment's articles; raises ValueError (or OSError) when the files disagree."""
        offsets = np.load(folder / OFFSETS_FILE)
        keys = json.loads((folder / KEYS_FILE).read_text("utf-8"))
        digests = np.load(folder / DIGESTS_FILE)
        with (folder / ARTICLES_FILE).open("rb") as handle:
            size = handle.seek(0, 2)
            data: mmap.mmap | bytes = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        n = len(keys)
        if (
            offsets.shape != (n + 1,) or digests.shape != (n, 32)
            or int(offsets[0]) != 0 or int(offsets[-1]) != size or bool((np.diff(offsets) <= 0).any())
        ):  # fmt: skip
            raise ValueError(f"the article files in {folder} disagree")
        return cls(data, offsets, keys, digests)

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Article: ...

    @overload
    def __getitem__(self, i: slice) -> list[Article]: ...

    def __getitem__(self, i: int | slice) -> Article | list[Article]:
        if isinstance(i, slice):
            return [self._read(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"article {i} out of range")
        return self._read(i)

    def __iter__(self) -> Iterator[Article]:
        for i in range(len(self)):  # not through the cache: a full pass would only flush it
            yield self._parse(i)

    def digest(self, i: int) -> bytes:
        return bytes(self.digests[i])

    def _parse(self, i: int) -> Article:
        line = self._data[int(self._offsets[i]) : int(self._offsets[i + 1])]
        try:
            article = article_from_json(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise ArticleDamagedError(f"stored article {i} cannot be read: run `hoptac reindex`") from exc
        if article.id != self.ids[i] or article_digest(article) != self.digest(i):
            raise ArticleDamagedError(
                f"stored article {self.ids[i]!r} does not match its checksum: run `hoptac reindex`"
            )
        return article
