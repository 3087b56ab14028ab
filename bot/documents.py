"""Documents an admin sends to the bot: checked, downloaded with ``getFile``, ingested.

result = await add_document(deps, bot, message.document)   # IngestResult, or UploadRefused
"""

from __future__ import annotations

from telegram import Bot, Document

from bot.deps import BotDeps
from markup import catalogue as words
from news_pipeline.ingestion import IngestResult
from news_pipeline.uploads import UploadRefused, add_file, check_file_name, megabytes


def check_document(document: Document, max_bytes: int) -> str:
    """The document's file name if it may be ingested; :class:`UploadRefused` otherwise."""
    name = check_file_name(document.file_name or "")
    if document.file_size is not None and document.file_size > max_bytes:
        raise UploadRefused(words.FILE_TOO_BIG, size=megabytes(document.file_size), limit=megabytes(max_bytes))
    return name


async def add_document(deps: BotDeps, bot: Bot, document: Document) -> IngestResult:
    """Download ``document`` and ingest it. Raises :class:`UploadRefused` before downloading
    a file of the wrong kind or over ``upload_max_bytes``."""
    limit = deps.config.upload_max_bytes
    name = check_document(document, limit)
    telegram_file = await bot.get_file(document.file_id)
    if telegram_file.file_size is not None and telegram_file.file_size > limit:
        raise UploadRefused(words.FILE_OVER_LIMIT, limit=megabytes(limit))
    data = await telegram_file.download_as_bytearray()
    if len(data) > limit:
        raise UploadRefused(words.FILE_OVER_LIMIT, limit=megabytes(limit))
    return await add_file(deps.ingestion, name, bytes(data))
