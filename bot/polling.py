"""Long polling as a singleton: with several replicas on one database, only the one holding
the ``telegram-polling`` lease calls ``getUpdates`` (Telegram serves one client at a time
and answers the others ``409 Conflict``); when it dies the lease lapses and another replica
starts polling. With SQLite (one process) the lease is always ours.

    turn = PollingTurn(application, allowed_updates)
    await turn.follow(held)        # after each renewal of the leases: start or stop polling
    turn.stop()                    # stopping: polling never starts again, a start under way is cut short
    serve_polling(application, allowed_updates, shutdown)   # `hoptac bot` without a webhook
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application

from bot.deps import DEPS_KEY, BotDeps
from bot.replicas import POLLING_KEY
from bot.shutdown import Shutdown, run_until_stopped, shut_down
from storage.leases import TELEGRAM_POLLING

_LOGGER = logging.getLogger(__name__)
POLL_TIMEOUT_S = 10


class PollingTurn:
    """Polls while this replica holds the ``telegram-polling`` lease, and only then."""

    def __init__(self, application: Application, allowed_updates: list[str], timeout_s: int = POLL_TIMEOUT_S) -> None:
        self.application = application
        self.allowed_updates = allowed_updates
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._stopped = False
        self._starting: asyncio.Task[object] | None = None

    @property
    def polling(self) -> bool:
        return self.application.updater is not None and self.application.updater.running

    async def follow(self, held: dict[str, bool]) -> None:
        """Start polling when the lease is ours and we do not poll yet; stop when it is not."""
        updater = self.application.updater
        if updater is None:
            return
        ours = held.get(TELEGRAM_POLLING, False)
        async with self._lock:
            if self._stopped:
                return
            if ours and not updater.running:
                _LOGGER.info("Long polling starts on this replica")
                # Its own task, so that stop() can cut short deleteWebhook's retries.
                self._starting = asyncio.ensure_future(
                    updater.start_polling(
                        poll_interval=0,
                        timeout=self.timeout_s,
                        allowed_updates=self.allowed_updates,
                        bootstrap_retries=5,
                    )
                )
                try:
                    await self._starting
                finally:
                    self._starting = None
            elif not ours and updater.running:
                _LOGGER.info("Long polling stops on this replica (another one holds the lease)")
                await updater.stop()

    def stop(self) -> None:
        """Never start polling again (the replica is stopping); a start under way is cancelled."""
        self._stopped = True
        if self._starting is not None:
            self._starting.cancel()


def serve_polling(application: Application, allowed_updates: list[str], shutdown: Shutdown) -> None:
    """Start the bot, poll whenever this replica holds the lease, until SIGINT/SIGTERM; then
    stop within the shutdown's time."""
    turn = PollingTurn(application, allowed_updates)
    application.bot_data[POLLING_KEY] = turn

    async def start() -> None:
        await application.initialize()
        if application.post_init:
            await application.post_init(application)  # takes the leases
        await application.start()
        deps: BotDeps = application.bot_data[DEPS_KEY]
        await turn.follow(deps.singletons.held())

    async def stop() -> None:
        turn.stop()
        last_get_updates = None
        if application.updater is not None and application.updater.running:
            # No update is taken from now on; the updater's own back-off (up to 30 s while
            # Telegram is out of reach) and its last getUpdates run beside the answers in flight.
            last_get_updates = asyncio.ensure_future(application.updater.stop())
        await shut_down(application, shutdown, before_closing=last_get_updates)

    run_until_stopped(start, stop, shutdown)
