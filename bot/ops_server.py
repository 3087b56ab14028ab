"""``GET /healthz`` and ``GET /metrics`` on a port of their own (``HOPTAC_METRICS_PORT``).

    server = OpsServer(deps, listen="0.0.0.0", port=8081)
    await server.start()     # on the bot's event loop (tornado, already there for the webhook)
    await server.stop()

A port of its own rather than routes on the webhook's: python-telegram-bot's webhook
server takes no extra routes, and the reverse proxy that forwards Telegram's webhook
need not expose health and metrics to the internet. ``/healthz`` is 200 only when the
engine and the state store both answer within :data:`CHECK_TIMEOUT_S`, else 503; its
body is JSON saying which part failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.deps import BotDeps
from bot.metrics import CONTENT_TYPE_LATEST

_LOGGER = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0


async def _check(name: str, probe: Any, report: dict[str, str]) -> int | None:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        report[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        return None
    report[name] = "ok"
    return result if isinstance(result, int) else 0


class _Handler(tornado.web.RequestHandler):
    def initialize(self, deps: BotDeps) -> None:
        self.deps = deps

    async def readiness(self) -> tuple[bool, dict[str, str], int | None]:
        report: dict[str, str] = {}
        engine = await _check("engine", self.deps.engine.status(), report)
        backlog = await _check("state", asyncio.to_thread(self.deps.outbox.pending_count), report)
        return engine is not None and backlog is not None, report, backlog


class _Health(_Handler):
    async def get(self) -> None:
        ready, report, _ = await self.readiness()
        self.set_status(200 if ready else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ready": ready, "replica": self.deps.config.replica_name, **report}))


class _Metrics(_Handler):
    async def get(self) -> None:
        metrics = self.deps.metrics
        try:
            backlog = await asyncio.wait_for(asyncio.to_thread(self.deps.outbox.pending_count), CHECK_TIMEOUT_S)
        except Exception as exc:  # the rest is still worth reporting
            _LOGGER.warning("Outbox backlog unknown: %s", exc)
        else:
            metrics.set_backlog(backlog)
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
        app = tornado.web.Application(
            [(r"/healthz", _Health, {"deps": self.deps}), (r"/metrics", _Metrics, {"deps": self.deps})],
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
