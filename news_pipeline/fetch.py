"""Fetching feeds and article pages over HTTP: a time limit, a size limit, clear reasons.

    async with web_client() as client:
        page = await fetch(client, url, timeout_s=20, max_bytes=5_000_000)
        article = await fetch_article(client, url, timeout_s=20, max_bytes=5_000_000)

Every failure is a :class:`FetchError` whose text is one short Vietnamese line, fit to
show an admin (``/add``) or ``/status``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import httpx

from retrieval.articles.importers import ImportFailure, article_from_html
from retrieval.models import Article


def _hoptac_version() -> str:
    try:
        return version("hoptac")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "dev"


USER_AGENT = f"hoptac/{_hoptac_version()} (news reader for a Telegram bot)"


class FetchError(Exception):
    """A page or feed that could not be fetched or read; ``str()`` is one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 for a conditional GET that found nothing new
    content: bytes
    headers: httpx.Headers


def web_client() -> httpx.AsyncClient:
    """An HTTP client for feeds and pages (redirects followed; limits are per request)."""
    return httpx.AsyncClient(follow_redirects=True, headers={"User-Agent": USER_AGENT})


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",") + " MB"


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET ``url`` within ``timeout_s`` seconds in all; 200 and 304 are answers, the rest errors."""
    try:
        async with asyncio.timeout(timeout_s):
            request = client.build_request("GET", url, headers=headers, timeout=timeout_s)
            response = await client.send(request, stream=True)
            try:
                if response.status_code == 304:
                    return Fetched(str(response.url), 304, b"", response.headers)
                if response.status_code != 200:
                    raise FetchError(f"máy chủ trả lời HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"nội dung {_megabytes(int(declared))}, quá giới hạn {_megabytes(max_bytes)}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"nội dung quá giới hạn {_megabytes(max_bytes)}")
                return Fetched(str(response.url), 200, bytes(body), response.headers)
            finally:
                await response.aclose()
    except TimeoutError:
        raise FetchError(f"quá thời gian chờ ({timeout_s:g} giây)") from None
    except httpx.TimeoutException:
        raise FetchError(f"quá thời gian chờ ({timeout_s:g} giây)") from None
    except httpx.InvalidURL:
        raise FetchError("địa chỉ không hợp lệ") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"không kết nối được ({type(exc).__name__})") from None


async def fetch_article(client: httpx.AsyncClient, url: str, *, timeout_s: float, max_bytes: int) -> Article:
    """The article on the page at ``url`` (text extracted with trafilatura, off the event loop)."""
    page = await fetch(client, url, timeout_s=timeout_s, max_bytes=max_bytes)
    content_type = page.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if content_type and "html" not in content_type and content_type != "text/plain":
        raise FetchError(f"không phải trang HTML ({content_type})")
    try:
        return await asyncio.to_thread(article_from_html, page.content, page.url)
    except ImportFailure as exc:
        raise FetchError(f"không tìm thấy nội dung bài viết ({exc})") from None
