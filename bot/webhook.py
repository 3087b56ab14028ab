"""Webhook mode: each update Telegram POSTs is answered before Telegram gets its 200.

python-telegram-bot's own webhook server answers 200 as soon as an update is queued, so a
replica that died while answering would lose the update: Telegram never sends a
2xx-acknowledged update again. Here the POST is answered when the handlers are done:

- ``403`` when the ``X-Telegram-Bot-Api-Secret-Token`` header is not the secret;
- ``200`` at once for an update some replica already answered (a re-delivery after a
  lost 2xx);
- ``503`` for an update a live replica claimed and is still answering: Telegram delivers
  it again a little later. A replica that died stops renewing its presence lease
  (:mod:`storage.leases`); once that lapses (``HOPTAC_SINGLETON_LEASE_SECONDS``), the next
  delivery of an update it had claimed is answered by whichever replica gets it;
- otherwise the update is claimed (``processed_updates``), handled by every handler as
  with long polling, marked answered, and ``200``.

A database out of reach does not stop answering (better twice than never), as with long
polling.

    serve_webhook(application, config, secret)     # blocks until SIGINT/SIGTERM or loop.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re

import tornado.httpserver
import tornado.iostream
import tornado.web
from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application

from bot.config import BotConfig
from bot.deps import DEPS_KEY, BotDeps
from bot.shutdown import CLOSING_S, Shutdown, run_until_stopped, shut_down

_LOGGER = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SET_WEBHOOK_TRIES = 6
SET_WEBHOOK_PAUSE_S = 1.0
STOP_GRACE_S = 10.0


class UpdateReceiver:
    """What to answer Telegram for one POSTed update (see the module docstring)."""

    def __init__(self, application: Application, secret: str) -> None:
        self.application = application
        self.secret = secret
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def receive(self, secret: str | None, body: bytes) -> int:
        """The HTTP status for Telegram, once the update was handled (or skipped)."""
        self._handling += 1
        self._idle.clear()
        try:
            return await self._receive(secret, body)
        finally:
            self._handling -= 1
            if not self._handling:
                self._idle.set()

    async def idle(self, timeout_s: float) -> bool:
        """Wait until no update is being handled (at most ``timeout_s``); whether none is."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _receive(self, secret: str | None, body: bytes) -> int:
        if not hmac.compare_digest((secret or "").encode(), self.secret.encode()):
            return 403
        try:
            update = Update.de_json(json.loads(body), self.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            _LOGGER.warning("Not a Telegram update (%s); refused", type(exc).__name__)
            return 400
        deps: BotDeps = self.application.bot_data[DEPS_KEY]
        updates = deps.state.updates
        try:
            claim = await asyncio.to_thread(updates.claim, update.update_id, deps.singletons.leases.holder)
        except Exception as exc:  # the database is out of reach: better answer twice than never
            _LOGGER.warning("Cannot claim update %s (%s); answering it anyway", update.update_id, exc)
            claim = "ours"
        if claim == "answered":
            _LOGGER.info("Update %s was already answered by a replica; skipped", update.update_id)
            return 200
        if claim == "busy":
            _LOGGER.info("Update %s is being answered by another replica; Telegram will retry", update.update_id)
            return 503
        try:
            await self.application.process_update(update)
        except Exception:  # the handlers' own errors go to the error handler; this is anything else
            _LOGGER.exception("Update %s could not be handled; not retried", update.update_id)
        try:
            await asyncio.to_thread(updates.answered, update.update_id)
        except Exception as exc:
            _LOGGER.warning("Cannot record update %s as answered: %s", update.update_id, exc)
        return 200


class _UpdateHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)

    def initialize(self, receiver: UpdateReceiver) -> None:
        self.receiver = receiver

    async def post(self) -> None:
        status = await self.receiver.receive(self.request.headers.get(SECRET_HEADER), self.request.body)
        self.set_status(status)
        with contextlib.suppress(tornado.iostream.StreamClosedError):  # Telegram gave up waiting
            await self.finish()


class WebhookServer:
    """The HTTP server on ``listen:port`` that receives Telegram's POSTs at ``/path``."""

    def __init__(self, receiver: UpdateReceiver, listen: str, port: int, path: str) -> None:
        self.receiver = receiver
        route = rf"/{re.escape(path)}/?" if path else r"/"
        self._app = tornado.web.Application([(route, _UpdateHandler, {"receiver": receiver})])
        self._listen, self._port = listen, port
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        self._server = tornado.httpserver.HTTPServer(self._app, xheaders=True)
        self._server.listen(self._port, self._listen)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Take no new update, let those being handled finish (within ``grace_s``: a
        cut-off one is delivered again to another replica), then close."""
        if self._server is not None:
            self._server.stop()
            if not await self.receiver.idle(grace_s):
                _LOGGER.warning("Stopping while updates are still being handled; Telegram will deliver them again")
            await self._server.close_all_connections()
            self._server = None


async def _set_webhook(application: Application, config: BotConfig, secret: str, allowed_updates: list[str]) -> None:
    for attempt in range(1, SET_WEBHOOK_TRIES + 1):
        try:
            await application.bot.set_webhook(
                url=str(config.webhook_url), secret_token=secret, allowed_updates=allowed_updates
            )
            return
        except (NetworkError, RetryAfter) as exc:  # InvalidToken and the like are not retried
            if attempt == SET_WEBHOOK_TRIES:
                raise
            _LOGGER.warning("setWebhook failed (%s); trying again", exc)
            await asyncio.sleep(SET_WEBHOOK_PAUSE_S)


def serve_webhook(
    application: Application, config: BotConfig, secret: str, allowed_updates: list[str], shutdown: Shutdown
) -> None:
    """Start the bot, register the webhook and serve until SIGINT/SIGTERM (or the loop is
    stopped), then stop everything within the shutdown's time; on the current event loop,
    which is closed at the end."""
    receiver = UpdateReceiver(application, secret)
    server = WebhookServer(receiver, config.webhook_listen, config.webhook_port, config.webhook_path)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)

    async def start() -> None:
        await application.initialize()
        if application.post_init:
            await application.post_init(application)
        await server.start()
        await _set_webhook(application, config, secret, allowed_updates)
        await application.start()

    async def stop() -> None:
        # The updates being answered get the time left, less what closing needs.
        await server.stop(grace_s=max(0.0, min(STOP_GRACE_S, shutdown.remaining() - CLOSING_S)))
        await shut_down(application, shutdown)

    run_until_stopped(start, stop, shutdown)
