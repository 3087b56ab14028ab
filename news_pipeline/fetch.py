"""Fetching feeds and article pages over HTTP: a time limit, a size limit, clear reasons.

    async with web_client(allowed_hosts=settings.fetch_allowed_hosts) as client:
        page = await fetch(client, url, timeout_s=20, max_bytes=5_000_000)
        article = await fetch_article(client, url, timeout_s=20, max_bytes=5_000_000)

Every failure is a :class:`FetchError` whose text is one short Vietnamese line, fit to
show an admin (``/add``) or ``/status``.

Only public addresses are fetched from (:mod:`news_pipeline.addresses`): the client's
connections are made by a guard that resolves the host, refuses it when any of its
addresses is not public (unless the host is allowed) and then connects to one of the
addresses it checked, never to a second lookup of the name; TLS still checks the
certificate against the host name and the ``Host`` header is the URL's. Redirects are
followed here, one hop at a time (at most :data:`MAX_REDIRECTS`), each to an ``http(s)``
URL and through the same guard. Proxies from the environment are not used: a proxy
resolves the names itself, out of the guard's sight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpcore
import httpx

from news_pipeline.addresses import AddressRefused, AllowedHosts, Resolver, resolve_host
from retrieval.articles.importers import ImportFailure, article_from_html
from retrieval.models import Article


def _hoptac_version() -> str:
    try:
        return version("hoptac")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "dev"


USER_AGENT = f"hoptac/{_hoptac_version()} (news reader for a Telegram bot)"
#: Redirects followed for one fetch; each is checked like the first URL.
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A page or feed that could not be fetched or read; ``str()`` is one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 for a conditional GET that found nothing new
    content: bytes
    headers: httpx.Headers


class _GuardedNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network, each TCP connection to a checked address of its host."""

    def __init__(self, allowed: AllowedHosts, resolve: Resolver) -> None:
        self._allowed = allowed
        self._resolve = resolve
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._resolve(host, port)
        except (OSError, UnicodeError) as exc:  # socket.gaierror: no such name
            raise httpcore.ConnectError(f"{host}: {exc}") from None
        if not addresses:
            raise httpcore.ConnectError(f"{host}: no address")
        refusal = self._allowed.refusal(host, addresses)
        if refusal is not None:
            raise refusal  # passes through httpx unchanged: it only maps httpcore's errors
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:  # the checked addresses, never the name again (DNS rebinding)
            try:
                return await self._network.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are never fetched from")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connections made by :class:`_GuardedNetwork`."""

    def __init__(self, network: _GuardedNetwork) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx takes no network backend, but its pool (httpcore's) does: the pool is replaced,
        # which is why pyproject.toml keeps httpx below 0.29; the tests fail if this stops working.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network,
        )


def web_client(allowed_hosts: Iterable[str] = (), *, resolve: Resolver = resolve_host) -> httpx.AsyncClient:
    """An HTTP client for feeds and pages, connecting to public addresses only, or to the
    hosts in ``allowed_hosts`` (``HOPTAC_FETCH_ALLOWED_HOSTS``); :func:`fetch` follows the
    redirects. ``resolve`` finds a host's addresses (tests give their own)."""
    transport = _GuardedTransport(_GuardedNetwork(AllowedHosts.parse(allowed_hosts), resolve))
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT}
    )


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
    """GET ``url`` within ``timeout_s`` seconds in all, redirects included; 200 and 304 are
    answers, the rest errors. A host that is not public (and not allowed) is refused, at
    the first URL or at any redirect, before anything is sent to it."""
    try:
        async with asyncio.timeout(timeout_s):
            target = url
            for _hop in range(MAX_REDIRECTS + 1):
                response = await _send(client, target, url, timeout_s, headers)
                try:
                    if response.has_redirect_location:  # 301, 302, 303, 307, 308 with a Location
                        target = str(response.url.join(response.headers["location"]))
                        continue
                    return await _read(response, max_bytes)
                finally:
                    await response.aclose()
            raise FetchError(f"quá nhiều lần chuyển hướng (hơn {MAX_REDIRECTS})")
    except TimeoutError:
        raise FetchError(f"quá thời gian chờ ({timeout_s:g} giây)") from None
    except httpx.TimeoutException:
        raise FetchError(f"quá thời gian chờ ({timeout_s:g} giây)") from None
    except httpx.InvalidURL:
        raise FetchError("địa chỉ không hợp lệ") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"không kết nối được ({type(exc).__name__})") from None


def _refused(target: str, url: str, reason: object) -> FetchError:
    redirected = f" (chuyển hướng từ {url})" if target != url else ""
    return FetchError(f"từ chối tải {target}{redirected}: {reason}")


async def _send(
    client: httpx.AsyncClient, target: str, url: str, timeout_s: float, headers: Mapping[str, str] | None
) -> httpx.Response:
    """One hop: ``target`` (``url`` itself, or where it redirected to) sent, not followed."""
    request = client.build_request("GET", target, headers=headers, timeout=timeout_s)
    if request.url.scheme not in ("http", "https"):
        raise _refused(target, url, "chỉ tải địa chỉ http:// và https://")
    try:
        return await client.send(request, stream=True, follow_redirects=False)
    except AddressRefused as exc:
        raise _refused(target, url, exc) from None


async def _read(response: httpx.Response, max_bytes: int) -> Fetched:
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
