"""Admins adding articles from Telegram: ``/add URL`` and documents sent to the bot.

    result = await add_page(deps, bot, "https://baobacgiang.vn/...")     # IngestResult
    result = await add_document(deps, bot, message.document)             # or UploadRefused

A page is fetched (time and size limits from the settings) and its article extracted
with trafilatura; a document (``.txt``, ``.md``, ``.html``, ``.jsonl``, ... any format
``hoptac ingest`` reads) is downloaded with ``getFile`` and ingested as it is. Either
way the articles go through :mod:`bot.ingestion`, so they are announced like any other.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from telegram import Bot, Document

from bot.deps import BotDeps
from bot.fetch import FetchError, fetch_article, web_client
from bot.ingestion import IngestResult, ingest_articles, ingest_paths
from retrieval.importers import SUPPORTED_SUFFIXES

#: What a document's name may end with (compared in lower case).
DOCUMENT_SUFFIXES = SUPPORTED_SUFFIXES
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class UploadRefused(Exception):
    """A page or document that is not ingested; ``str()`` is one Vietnamese sentence for the admin."""


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",") + " MB"


def check_url(text: str) -> str:
    url = text.strip()
    if not _URL.match(url):
        raise UploadRefused("Địa chỉ phải bắt đầu bằng http:// hoặc https://, ví dụ: /add https://baohaiduong.vn/...")
    return url


async def add_page(deps: BotDeps, bot: Bot, url: str) -> IngestResult:
    """Fetch the page at ``url`` and ingest its article."""
    url = check_url(url)
    try:
        async with web_client() as client:
            article = await fetch_article(
                client, url, timeout_s=deps.config.fetch_timeout_s, max_bytes=deps.config.fetch_max_bytes
            )
    except FetchError as exc:
        return IngestResult(failures=[(url, str(exc))])
    return await ingest_articles(deps, bot, [article], activity="/add")


def _safe_name(name: str) -> str:
    """The document's own name, kept readable but safe as one file name."""
    cleaned = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    return cleaned[-120:]


def check_document(document: Document, max_bytes: int) -> str:
    """The document's file name if it may be ingested; :class:`UploadRefused` otherwise."""
    name = document.file_name or ""
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        kinds = ", ".join(sorted({s for s in DOCUMENT_SUFFIXES if s.count(".") == 1}))
        raise UploadRefused(f"Không đọc được loại tệp này. Hãy gửi tệp {kinds} (hoặc .jsonl.gz).")
    if document.file_size is not None and document.file_size > max_bytes:
        raise UploadRefused(
            f"Tệp nặng {megabytes(document.file_size)}, quá giới hạn {megabytes(max_bytes)}. "
            "Hãy chia nhỏ tệp (ví dụ tách tệp JSONL) rồi gửi lại từng phần."
        )
    return name


async def add_document(deps: BotDeps, bot: Bot, document: Document) -> IngestResult:
    """Download ``document`` and ingest it. Raises :class:`UploadRefused` before downloading
    a file of the wrong kind or over ``upload_max_bytes``."""
    name = check_document(document, deps.config.upload_max_bytes)
    telegram_file = await bot.get_file(document.file_id)
    if telegram_file.file_size is not None and telegram_file.file_size > deps.config.upload_max_bytes:
        raise UploadRefused(f"Tệp quá giới hạn {megabytes(deps.config.upload_max_bytes)}.")
    data = await telegram_file.download_as_bytearray()
    if len(data) > deps.config.upload_max_bytes:
        raise UploadRefused(f"Tệp quá giới hạn {megabytes(deps.config.upload_max_bytes)}.")
    deps.config.incoming_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="upload-", dir=deps.config.incoming_dir))
    try:
        path = staging / _safe_name(name)
        path.write_bytes(bytes(data))
        result = await ingest_paths(deps, bot, [path], activity="tệp tải lên")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # Failures name the staged file; the admin knows it by its own name.
    result.failures = [(what.replace(str(path), name), reason) for what, reason in result.failures]
    return result
