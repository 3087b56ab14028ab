"""The articles of an index segment on disk, read one at a time when a question needs them.

A segment keeps each article's JSON record compressed on its own (a zlib stream, level
:data:`LEVEL`) in ``article_records.bin``, with four small files beside it: each record's
byte offset, each article's id and publication date, each article's SHA-256
(:func:`article_digest`), and the preset dictionary every record is compressed with.
Loading reads only the small files (a million passages are about 150,000 articles, whose
text would take a gigabyte as Python strings); an article is read (``os.pread``, see
retrieval/local/positional_file.py), inflated and parsed when a question cites it, and its digest
is checked then, so a damaged record is never quoted, even before the background check of the
whole file ends.

Why a dictionary: an article is a few kilobytes, too little for deflate to learn the
Vietnamese words and JSON keys it repeats, so each record starts from 32 KB of the segment's
own records (the start of evenly spaced ones). Measured on the 500,000-passage benchmark
index (71,777 articles, 269 MB as JSON lines): compressed alone 42% of the JSON, with the
dictionary 33% (88 MB); level 9 compresses no smaller than 6. Writing costs about 0.3 ms an
article (20 s for those); reading one (``pread``, inflate, parse, SHA-256) about 0.1 ms, of
which inflating 0.03 ms, where the JSON line took 0.05 ms.

    articles = ArticleFile.load(folder)
    articles.ids[7], articles.published[7]   # no text read
    articles[7]                              # read, inflated, checked, cached
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import overload

import numpy as np

from retrieval.articles.records import article_digest, article_from_json, article_to_json
from retrieval.engine import IndexCorruptError
from retrieval.local.positional_file import PositionalFile
from retrieval.models import Article

RECORDS_FILE = "article_records.bin"


OFFSETS_FILE = "article_offsets.npy"


KEYS_FILE = "article_keys.json"


DIGESTS_FILE = "article_digests.npy"


DICTIONARY_FILE = "article_dictionary.bin"


FILES = (RECORDS_FILE, OFFSETS_FILE, KEYS_FILE, DIGESTS_FILE, DICTIONARY_FILE)


#: Parsed articles kept per segment (a question cites a handful).
CACHED_ARTICLES = 4096


#: zlib's level: 9 compresses these records no smaller than 6 and can be much slower.
LEVEL = 6


#: zlib streams: 10 bytes a record (header, the dictionary's id, the Adler-32 of the record)
#: buy a check of the whole record, the sapo too, which the SHA-256 leaves out, so damage
#: never reaches an index rebuilt from stored articles (compaction).
WINDOW_BITS = 15


#: The preset dictionary: the first DICTIONARY_PIECE bytes of up to DICTIONARY_RECORDS
#: evenly spaced records, DICTIONARY_BYTES in all (deflate's whole window).
DICTIONARY_BYTES = 32 * 1024


DICTIONARY_RECORDS = 80


DICTIONARY_PIECE = DICTIONARY_BYTES // DICTIONARY_RECORDS


class ArticleDamagedError(IndexCorruptError):
    """A stored article does not match its digest: it is never quoted."""


def article_record(article: Article) -> bytes:
    """The stored record of ``article``: its JSON, UTF-8."""
    return article_to_json(article).encode()


def train_dictionary(articles: Sequence[Article]) -> bytes:
    """The preset dictionary for ``articles``' records: the start of evenly spaced ones (see
    the module docstring), the same for the same articles. Only those records are made."""
    step = max(1, len(articles) // DICTIONARY_RECORDS)
    sampled = (article_record(articles[i]) for i in range(0, len(articles), step))
    return b"".join(record[:DICTIONARY_PIECE] for record in sampled)[-DICTIONARY_BYTES:]


def _deflater(dictionary: bytes) -> zlib._Compress:
    if not dictionary:
        return zlib.compressobj(LEVEL, zlib.DEFLATED, WINDOW_BITS)
    return zlib.compressobj(LEVEL, zlib.DEFLATED, WINDOW_BITS, zdict=dictionary)


def inflate_record(compressed: bytes, dictionary: bytes) -> bytes:
    """The record ``compressed`` holds; zlib.error when it is not one whole zlib stream or its
    Adler-32 does not match."""
    inflater = zlib.decompressobj(WINDOW_BITS, zdict=dictionary) if dictionary else zlib.decompressobj(WINDOW_BITS)
    record = inflater.decompress(compressed)
    if not inflater.eof or inflater.unused_data:
        raise zlib.error("the record is not one whole zlib stream")
    return record


def write_articles(folder: Path, articles: Sequence[Article], digests: Sequence[bytes]) -> None:
    """The five files of ``articles`` in ``folder``."""
    dictionary = train_dictionary(articles)
    primed = _deflater(dictionary)  # copied for each record: the dictionary is indexed once
    offsets = np.zeros(len(articles) + 1, dtype=np.int64)
    with (folder / RECORDS_FILE).open("wb") as handle:
        # A record at a time: a million passages' articles are about 550 MB of JSON.
        for i, record in enumerate(article_record(article) for article in articles):
            deflater = primed.copy()
            compressed = deflater.compress(record) + deflater.flush()
            handle.write(compressed)
            offsets[i + 1] = offsets[i] + len(compressed)
    (folder / DICTIONARY_FILE).write_bytes(dictionary)
    np.save(folder / OFFSETS_FILE, offsets)
    keys = [[a.id, a.published.isoformat() if a.published else None] for a in articles]
    (folder / KEYS_FILE).write_text(json.dumps(keys, ensure_ascii=False), "utf-8")
    table = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(articles), 32)
    np.save(folder / DIGESTS_FILE, table)


@dataclass(frozen=True, eq=False)
class _Records:
    """The stored records of a segment and what checks them: one article is read, inflated,
    parsed and checked at a time."""

    file: PositionalFile
    offsets: np.ndarray
    dictionary: bytes
    ids: list[str]
    digests: np.ndarray

    def article(self, i: int) -> Article:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        try:
            article = article_from_json(inflate_record(self.file.read(start, end - start), self.dictionary))
        except (zlib.error, ValueError, KeyError, TypeError) as exc:
            raise ArticleDamagedError(f"stored article {i} cannot be read: run `hoptac reindex`") from exc
        if article.id != self.ids[i] or article_digest(article) != bytes(self.digests[i]):
            raise ArticleDamagedError(
                f"stored article {self.ids[i]!r} does not match its checksum: run `hoptac reindex`"
            )
        return article


class ArticleFile(Sequence[Article]):
    """A segment's stored articles (see the module docstring); read-only, read by any number
    of threads at once. The records file stays open until :meth:`close` or collection."""

    def __init__(
        self,
        records: PositionalFile,
        offsets: np.ndarray,
        keys: list[list[str | None]],
        digests: np.ndarray,
        dictionary: bytes,
    ) -> None:
        self.ids: list[str] = [str(key[0]) for key in keys]
        self.published: list[datetime | None] = [datetime.fromisoformat(k[1]) if k[1] else None for k in keys]
        self.digests = digests
        self._records = _Records(records, offsets, dictionary, self.ids, digests)
        # The cache holds the records, not this object: dropping the last reference to it
        # closes the file at once, without waiting for the cycle collector.
        self._read = functools.lru_cache(maxsize=CACHED_ARTICLES)(self._records.article)

    @classmethod
    def load(cls, folder: Path) -> ArticleFile:
        """The segment's articles; raises ValueError (or OSError) when the files disagree."""
        offsets = np.load(folder / OFFSETS_FILE)
        keys = json.loads((folder / KEYS_FILE).read_text("utf-8"))
        digests = np.load(folder / DIGESTS_FILE)
        dictionary = (folder / DICTIONARY_FILE).read_bytes()
        records = PositionalFile(folder / RECORDS_FILE)
        n = len(keys)
        if (
            offsets.shape != (n + 1,) or digests.shape != (n, 32) or len(dictionary) > DICTIONARY_BYTES
            or int(offsets[0]) != 0 or int(offsets[-1]) != records.size or bool((np.diff(offsets) <= 0).any())
        ):  # fmt: skip
            records.close()
            raise ValueError(f"the article files in {folder} disagree")
        return cls(records, offsets, keys, digests, dictionary)

    def close(self) -> None:
        """Close the records file (articles not cached can no longer be read)."""
        self._records.file.close()

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
            yield self._records.article(i)

    def digest(self, i: int) -> bytes:
        return bytes(self.digests[i])
