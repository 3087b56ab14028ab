"""What lets several replicas of the bot share one PostgreSQL (see docs/deploy.md).

- :func:`skip_repeated_update`: a handler in group -1, before every other: an update some
  replica already took (Telegram re-delivers when it got no 2xx) stops there.
- :func:`keep_singletons`: a job renewing this replica's singleton leases (feed polling,
  the watched folder, the outbox sender, long polling); the jobs run only where
  :func:`holds` is True, and long polling only where its lease is held (:mod:`bot.polling`).
- :func:`prune_updates`: a job forgetting update ids older than Telegram ever re-delivers.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.deps import BotDeps, get_deps

POLLING_KEY = "hoptac-polling"  # bot_data: the bot.polling.PollingTurn, with long polling

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

#: Telegram keeps an update for 24 hours at most; its id is forgotten after two days.
UPDATE_MEMORY_S = 2 * 24 * 3600.0
PRUNE_EVERY_S = 3600.0


async def skip_repeated_update(update: object, context: Context) -> None:
    """Let an update through the first time any replica sees it; stop it every later time."""
    if not isinstance(update, Update):
        return
    deps = get_deps(context)
    try:
        first = await asyncio.to_thread(deps.state.updates.first_time, update.update_id, deps.config.replica_name)
    except Exception as exc:  # the database is out of reach: better answer twice than never
        _LOGGER.warning("Cannot record update %s (%s); answering it anyway", update.update_id, exc)
        return
    if not first:
        _LOGGER.info("Update %s was already taken by a replica; skipped", update.update_id)
        raise ApplicationHandlerStop


def holds(deps: BotDeps, name: str) -> bool:
    """Whether this replica runs the singleton ``name`` now."""
    return deps.singletons.holds(name)


async def renew_singletons(deps: BotDeps) -> dict[str, bool]:
    held = await asyncio.to_thread(deps.singletons.renew)
    deps.metrics.set_held(held)
    return held


async def keep_singletons(context: Context) -> None:
    held = await renew_singletons(get_deps(context))
    turn = context.application.bot_data.get(POLLING_KEY)  # long polling follows its lease
    if turn is not None:
        await turn.follow(held)


async def prune_updates(context: Context) -> None:
    deps = get_deps(context)
    try:
        await asyncio.to_thread(deps.state.updates.prune, UPDATE_MEMORY_S)
    except Exception as exc:
        _LOGGER.warning("Cannot prune the update ids: %s", exc)
