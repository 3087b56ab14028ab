"""A tiny round-robin HTTP load balancer on 127.0.0.1, in front of several bot replicas'
webhook ports, for tests and the load test (nginx's part in docs/deploy.md, section 9).

    async with LoadBalancer([8081, 8091, 8101]) as balancer:
        api.route_webhook("hoptac.test", balancer.port)     # the fake Telegram posts here
        ...
        balancer.routed                                       # [Routed(upstream, update_id, status)]

Each request goes to the next upstream in turn; an upstream that refuses the connection
is passed over for the next, as nginx's ``proxy_next_upstream error`` does (default on).
A request whose upstream fails after the request was sent (the replica died while
handling it) is answered ``502`` and not retried elsewhere (nginx does not retry a POST
either): Telegram re-delivers it. One request per connection (``Connection: close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.testing.fake_bot_api import FakeBotApi

UPSTREAM_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Routed:
    """One request: the upstream port that answered (0: none could), its update id, the
    status, and when it arrived (``time.monotonic()``)."""

    upstream: int
    update_id: int | None
    status: int
    arrived: float = 0.0


class LoadBalancer:
    """See the module docstring."""

    def __init__(self, upstreams: Sequence[int]) -> None:
        if not upstreams:
            raise ValueError("a load balancer needs at least one upstream")
        self.upstreams = list(upstreams)
        self.routed: list[Routed] = []
        self.in_flight: dict[int, int] = dict.fromkeys(self.upstreams, 0)  # upstream -> requests it holds now
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LoadBalancer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the load balancer first"
        return int(self._server.sockets[0].getsockname()[1])

    def failed_at(self, upstream: int) -> list[int]:
        """The update ids whose request ``upstream`` took and never answered (it died)."""
        return [r.update_id for r in self.routed if r.upstream == upstream and r.status == 502 and r.update_id]

    def served_by(self, upstream: int) -> list[int]:
        """The update ids ``upstream`` answered with a 2xx."""
        return [r.update_id for r in self.routed if r.upstream == upstream and 200 <= r.status < 300 and r.update_id]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            request = await FakeBotApi._read_request(reader)
            if request is None:
                return
            arrived = time.monotonic()
            upstream, status, response = await self._forward(*request)
            self.routed.append(Routed(upstream, _update_id(request[2]), status, arrived))
            writer.write(response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _forward(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, int, bytes]:
        first = next(self._turn)
        for step in range(len(self.upstreams)):
            port = self.upstreams[(first + step) % len(self.upstreams)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # refused: the next upstream (proxy_next_upstream error)
            self.in_flight[port] += 1
            try:
                head = [f"POST {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
                head += [f"{k}: {v}" for k, v in headers.items() if k not in {"host", "connection", "content-length"}]
                head.append(f"Content-Length: {len(body)}")
                up_writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                await up_writer.drain()
                response = await asyncio.wait_for(up_reader.read(), UPSTREAM_TIMEOUT_S)
                status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
            except (OSError, TimeoutError, ValueError, IndexError):
                return port, 502, _bad_gateway()
            finally:
                self.in_flight[port] -= 1
                up_writer.close()
            if status == 0:  # the connection closed before any answer: the replica died
                return port, 502, _bad_gateway()
            return port, status, response
        return 0, 502, _bad_gateway()


def _bad_gateway() -> bytes:
    return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _update_id(body: bytes) -> int | None:
    try:
        update_id = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return update_id if isinstance(update_id, int) else None
