"""``GET /healthz`` and ``GET /metrics`` on a port of their own (``HOPTAC_METRICS_PORT``).

    server = OpsServer(deps, listen="0.0.0.0", port=8081)
    await server.start()     # on the bot's event loop (tornado, already there for the webhook)
    await server.stop()

A port of its own rather than routes on the webhook's: python-telegram-bot's webhook
server takes no extra routes, and the reverse proxy that forwards Telegram's webhook
need not expose health and metrics to the internet. ``/healthz`` is 200 (``"status":
"ok"``) only when the engine answers within :data:`CHECK_TIMEOUT_S` and the state store
within :data:`STATE_TIMEOUT_S`, else 503 (``"status": "degraded"``); its JSON body says
which part is down (``"down"``) and why. The state store's answer is kept for
:data:`STATE_CACHE_S`, so frequent probes cost one query at most every so often, and a
probe while PostgreSQL is down waits a second, not the pool's half minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.deps import BotDeps
from bot.metrics import CONTENT_TYPE_LATEST

_LOGGER = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0
#: How long the health check waits for the state store (a pooled connection and ``SELECT 1``).
STATE_TIMEOUT_S = 1.0
#: How long the state store's answer is reused by the next health checks.
STATE_CACHE_S = 1.5


class StateProbe:
    """Whether the state store answers, asked at most once every :data:`STATE_CACHE_S`."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps
        self._lock = asyncio.Lock()
        self._checked_at = -math.inf
        self._report = "ok"

    async def __call__(self) -> str:
        """ "ok", or what went wrong, in one line."""
        async with self._lock:  # simultaneous probes share one query
            if time.monotonic() - self._checked_at >= STATE_CACHE_S:
                try:
                    await asyncio.wait_for(asyncio.to_thread(self.deps.state.ping, STATE_TIMEOUT_S), CHECK_TIMEOUT_S)
                except Exception as exc:
                    self._report = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                else:
                    self._report = "ok"
                self._checked_at = time.monotonic()
            return self._report


async def _check(name: str, probe: Any, report: dict[str, str]) -> int | None:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        report[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        return None
    report[name] = "ok"
    return result if isinstance(result, int) else 0


class _Handler(tornado.web.RequestHandler):
    def initialize(self, deps: BotDeps, state: StateProbe) -> None:
        self.deps = deps
        self.state = state


class _Health(_Handler):
    async def get(self) -> None:
        report: dict[str, str] = {}
        await _check("engine", self.deps.engine.status(), report)
        report["state"] = await self.state()
        down = [part for part, outcome in report.items() if outcome != "ok"]
        self.set_status(503 if down else 200)
        self.set_header("Content-Type", "application/json")
        body = {"ready": not down, "status": "degraded" if down else "ok", "down": down}
        self.finish(json.dumps({**body, "replica": self.deps.config.replica_name, **report}))


class _Metrics(_Handler):
    async def get(self) -> None:
        metrics = self.deps.metrics
        try:
            backlog = await asyncio.wait_for(asyncio.to_thread(self.deps.outbox.pending_count), CHECK_TIMEOUT_S)
        except Exception as exc:  # the rest is still worth reporting
            _LOGGER.warning("Outbox backlog unknown: %s", exc)
        else:
            metrics.set_backlog(backlog)
        try:
            dislikes = await asyncio.wait_for(asyncio.to_thread(self.deps.feedback.dislikes_by_reason), CHECK_TIMEOUT_S)
        except Exception as exc:
            _LOGGER.warning("Feedback counts unknown: %s", exc)
        else:
            metrics.set_dislikes(dislikes)
        depth = getattr(self.deps.engine.engine, "ingest_queue_depth", None)  # a DatabaseEngine's
        if depth is not None:
            try:
                metrics.set_ingest_queue(await asyncio.wait_for(asyncio.to_thread(depth), CHECK_TIMEOUT_S))
            except Exception as exc:
                _LOGGER.warning("Ingest queue depth unknown: %s", exc)
        metrics.set_held(self.deps.singletons.held())
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(metrics.render())


class OpsServer:
    """The health and metrics endpoints of one replica."""

    def __init__(self, deps: BotDeps, listen: str, port: int) -> None:
        self.deps = deps
        self.listen = listen
        self.port = port
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        handlers = {"deps": self.deps, "state": StateProbe(self.deps)}
        app = tornado.web.Application(
            [(r"/healthz", _Health, handlers), (r"/metrics", _Metrics, handlers)],
            log_function=lambda handler: None,  # a scrape every few seconds is not worth a log line
        )
        sockets = tornado.netutil.bind_sockets(self.port, self.listen)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        _LOGGER.info("Health and metrics on %s:%s (/healthz, /metrics)", self.listen, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
