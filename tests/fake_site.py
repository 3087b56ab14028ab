"""A small news site on 127.0.0.1 (port 0) for the feed and ``/add`` tests.

    with FakeSite() as site:
        site.put("/bai/1.html", page_bytes, "text/html; charset=utf-8")
        site.put("/rss.xml", rss([...]), "application/rss+xml")   # served with an ETag
        site.url("/rss.xml")
        site.requests_to("/rss.xml")   # [(status, request headers)], to check conditional GETs
        site.redirect("/cu.html", "http://169.254.169.254/latest/meta-data/")   # a 302 to there

Every response carries an ``ETag`` (a hash of the body) and a ``Last-Modified``; a request
whose ``If-None-Match`` matches gets ``304 Not Modified``. A path never ``put`` is a 404.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

#: The address every fake site listens on (the tests allow it: HOPTAC_FETCH_ALLOWED_HOSTS).
HOST = "127.0.0.1"


@dataclass
class Resource:
    body: bytes
    content_type: str
    status: int = 200
    location: str | None = None  # a redirect's target

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    published: datetime
    summary: str  # HTML, as feeds carry it


def rss(title: str, items: list[Item]) -> bytes:
    """An RSS 2.0 feed of ``items`` (summaries in CDATA, as most Vietnamese news sites do)."""
    entries = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f"<guid isPermaLink='true'>{escape(i.link)}</guid>"
        f"<pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description><![CDATA[{i.summary}]]></description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link><description>Tin hợp tác</description>"
        f"{entries}</channel></rss>"
    ).encode()


class FakeSite:
    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.requests: list[tuple[str, int, dict[str, str]]] = []  # (path, status, headers)
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._answer(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-site", daemon=True
        )

    def __enter__(self) -> FakeSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def put(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> None:
        with self._lock:
            self.resources[path] = Resource(body, content_type, status)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        with self._lock:
            self.resources[path] = Resource(b"", "text/html", status, location)

    def requests_to(self, path: str) -> list[tuple[int, dict[str, str]]]:
        with self._lock:
            return [(status, headers) for p, status, headers in self.requests if p == path]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            resource = self.resources.get(path)
            if resource is None:
                status, body, extra = 404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"}
            elif headers.get("if-none-match") == resource.etag:
                status, body, extra = 304, b"", {"ETag": resource.etag}
            elif resource.location is not None:
                status, body, extra = resource.status, b"", {"Location": resource.location}
            else:
                status, body = resource.status, resource.body
                extra = {
                    "Content-Type": resource.content_type,
                    "ETag": resource.etag,
                    "Last-Modified": "Mon, 20 May 2024 01:30:00 GMT",
                }
            self.requests.append((path, status, headers))
        handler.send_response(status)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)
