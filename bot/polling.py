"""Long polling as a singleton: with several replicas on one database, only the one holding
the ``telegram-polling`` lease calls ``getUpdates`` (Telegram serves one client at a time
and answers the others ``409 Conflict``); when it dies the lease lapses and another replica
starts polling. With SQLite (one process) the lease is always ours.

    turn = PollingTurn(application, allowed_updates)
    await turn.follow(held)        # after each renewal of the leases: start or stop polling
    serve_polling(application, config, allowed_updates)   # `hoptac bot` without a webhook
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application

from bot.deps import DEPS_KEY, BotDeps
from bot.replicas import POLLING_KEY
from bot.webhook import run_until_stopped, shut_down
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
            if ours and not updater.running:
                _LOGGER.info("Long polling starts on this replica")
                await updater.start_polling(
                    poll_interval=0, timeout=self.timeout_s, allowed_updates=self.allowed_updates, bootstrap_retries=5
                )
            elif not ours and updater.running:
                _LOGGER.info("Long polling stops on this replica (another one holds the lease)")
                await updater.stop()


def serve_polling(application: Application, allowed_updates: list[str]) -> None:
    """Start the bot, poll whenever this replica holds the lease, until SIGINT/SIGTERM."""
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
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await shut_down(application)

    run_until_stopped(start, stop)
