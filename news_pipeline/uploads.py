"""Admins adding articles by hand: a page by its URL, or a file's bytes.

    result = await add_page(ingestion, "https://baobacgiang.vn/...", timeout_s=20, max_bytes=5_000_000)
    result = await add_file(ingestion, "bai.jsonl", data)            # IngestResult

A page is fetched (time and size limits from the settings; only from a public address,
or a host in ``allowed_hosts``, see :mod:`news_pipeline.fetch`) and its article extracted
with trafilatura; a file (``.txt``, ``.md``, ``.html``, ``.jsonl``, ... any format
``hoptac ingest`` reads) is ingested as it is. Either way the articles go through
:class:`news_pipeline.ingestion.Ingestion`, so they are announced like any other. Getting
the file from Telegram is the bot's part (:mod:`bot.documents`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from markup import catalogue as words
from news_pipeline.fetch import FetchError, fetch_article, web_client
from news_pipeline.ingestion import Ingestion, IngestResult
from retrieval.articles.importers import SUPPORTED_SUFFIXES
from retrieval.models import Article

#: What a document's name may end with (compared in lower case).
DOCUMENT_SUFFIXES = SUPPORTED_SUFFIXES
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class UploadRefused(Exception):
    """A page or document that is not ingested: what to tell the admin, from
    :mod:`markup.catalogue`; ``str()`` is the Vietnamese sentence, :meth:`say` any language."""

    def __init__(self, what: words.Words, **fields: object) -> None:
        super().__init__(what.say(**fields))
        self.what, self.fields = what, fields

    def say(self, language: str | None = None) -> str:
        return self.what.say(language, **self.fields)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",") + " MB"


def check_url(text: str) -> str:
    url = text.strip()
    if not _URL.match(url):
        raise UploadRefused(words.ADDRESS_HOW)
    return url


async def fetch_page(url: str, *, timeout_s: float, max_bytes: int, allowed_hosts: Iterable[str] = ()) -> Article:
    """The article on the page at ``url``, as ``/add`` and ``hoptac ingest URL`` take it.

    Raises :class:`UploadRefused` for an address that is not http(s), :class:`FetchError`
    for a page that cannot be fetched, has no article, or is at a refused address."""
    url = check_url(url)
    async with web_client(allowed_hosts) as client:
        return await fetch_article(client, url, timeout_s=timeout_s, max_bytes=max_bytes)


async def add_page(
    ingestion: Ingestion, url: str, *, timeout_s: float, max_bytes: int, allowed_hosts: Iterable[str] = ()
) -> IngestResult:
    """Fetch the page at ``url`` and ingest its article; a refused address is a failure of the result."""
    url = check_url(url)
    try:
        article = await fetch_page(url, timeout_s=timeout_s, max_bytes=max_bytes, allowed_hosts=allowed_hosts)
    except FetchError as exc:
        return IngestResult(failures=[(url, words.FETCH_FAILED.say(reason=str(exc)))])
    return await ingestion.ingest_articles([article], activity="/add")


def _safe_name(name: str) -> str:
    """The document's own name, kept readable but safe as one file name."""
    cleaned = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    return cleaned[-120:]


def check_file_name(name: str) -> str:
    """``name`` if a file of that name may be ingested; :class:`UploadRefused` otherwise."""
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        kinds = ", ".join(sorted({s for s in DOCUMENT_SUFFIXES if s.count(".") == 1}))
        raise UploadRefused(words.UNSUPPORTED_FILE, kinds=kinds)
    return name


async def add_file(ingestion: Ingestion, name: str, data: bytes) -> IngestResult:
    """Ingest the bytes of a file called ``name`` (its suffix says its format)."""
    ingestion.incoming_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="upload-", dir=ingestion.incoming_dir))
    try:
        path = staging / _safe_name(name)
        path.write_bytes(data)
        result = await ingestion.ingest_paths([path], activity=words.ACTIVITY_UPLOAD.say())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Failures name the staged file; the admin knows it by its own name.
    result.failures = [(what.replace(str(path), name), reason) for what, reason in result.failures]
    return result
