"""The admin's background reindex: one at a time, progress shown, result reported.

    run = coordinator.try_start(user_id=admin, chat_id=chat)   # None: one is running
    coordinator.launch(run_reindex(bot, client, run, progress_message, coordinator.progress_interval_s))

Every other change the bot makes to the index (the watched folder, feeds, ``/add``,
uploads) runs inside ``async with coordinator.exclusive("...")``: such changes wait for
each other and for a running reindex, and ``/reindex`` is refused while one runs.

The rebuild runs in a thread of its own (see :class:`~bot.engine_client.EngineClient`),
so questions keep being answered from the old index until the engine swaps the new one in.
Progress is shown by editing one message, at most every ``progress_interval_s``; that
message is edited into the result at the end (a new message only when the edit fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.engine_client import EngineClient
from bot.format import format_duration, format_progress, format_reindex_done
from markup import catalogue as words

_LOGGER = logging.getLogger(__name__)


@dataclass
class ReindexRun:
    """One reindex: who started it, where, and how far it got (updated from its thread)."""

    user_id: int
    chat_id: int
    loop: asyncio.AbstractEventLoop = field(repr=False)
    started_at: float = field(default_factory=time.monotonic)
    stage: str | None = None
    done: int = 0
    total: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        """The engine's progress callback; called from the reindex thread."""
        self.stage, self.done, self.total = stage, done, total
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is watching
            self.loop.call_soon_threadsafe(self.changed.set)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_at


class ReindexCoordinator:
    """Allows one index change at a time and keeps the reindex task referenced while it runs."""

    def __init__(self, progress_interval_s: float = 3.0) -> None:
        self.progress_interval_s = progress_interval_s
        self.current: ReindexRun | None = None
        self.activity: str | None = None  # what holds the index now, in Vietnamese ("tin từ RSS")
        self._task: asyncio.Task[None] | None = None
        self._changing = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """Whether a reindex or another index change is running (or about to)."""
        return self.current is not None or self._changing.locked()

    def try_start(self, user_id: int, chat_id: int) -> ReindexRun | None:
        if self.busy:
            return None
        self.current = ReindexRun(user_id=user_id, chat_id=chat_id, loop=asyncio.get_running_loop())
        return self.current

    def launch(self, work: Coroutine[Any, Any, None]) -> None:
        async def exclusively() -> None:
            async with self.exclusive(words.ACTIVITY_REINDEX.say()):
                await work

        self._task = asyncio.create_task(exclusively(), name="hoptac-reindex")
        self._task.add_done_callback(self._finished)

    def _finished(self, _task: asyncio.Task[None]) -> None:
        self.current = None
        self._task = None

    @contextlib.asynccontextmanager
    async def exclusive(self, activity: str) -> AsyncIterator[None]:
        """Hold the index for one change (waiting for the change before it to finish)."""
        async with self._changing:
            self.activity = activity
            try:
                yield
            finally:
                self.activity = None

    async def idle(self) -> None:
        """Wait until no reindex or other index change runs (its last message sent)."""
        while self.busy:
            task = self._task
            if task is not None:
                await asyncio.wait({task})  # _finished has run once this returns
            else:
                async with self._changing:
                    await asyncio.sleep(0)  # a reindex between try_start and launch: let it launch

    def status_line(self) -> str | None:
        run = self.current
        if run is not None:
            return words.REINDEX_STATUS.say(elapsed=format_duration(run.elapsed_s))
        if self.activity is not None:
            return words.CHANGE_STATUS.say(activity=self.activity)
        return None


async def _show(progress_message: Message, text: str) -> bool:
    """Edit the progress message to ``text``; False when Telegram refused the edit."""
    try:
        await progress_message.edit_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:  # "message is not modified", a deleted message and the like
        _LOGGER.info("Could not edit the reindex message: %s", exc)
        return False
    return True


async def run_reindex(
    bot: Bot,
    client: EngineClient,
    run: ReindexRun,
    progress_message: Message,
    interval_s: float,
    after: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Rebuild, keep ``progress_message`` current, then edit it into the result (sent as a
    new message only when the edit fails, so the admin hears of the result once).

    ``after`` runs once the new index is in, before the admin hears of it (the bot uses it
    to announce articles that the rebuild brought in)."""
    rebuild = asyncio.ensure_future(client.reindex(progress=run.progress))
    while not rebuild.done():
        changed = asyncio.ensure_future(run.changed.wait())
        await asyncio.wait({rebuild, changed}, return_when=asyncio.FIRST_COMPLETED)
        changed.cancel()
        if rebuild.done():
            break
        run.changed.clear()
        await _show(progress_message, format_progress(run.stage, run.done, run.total))
        # Telegram frowns on rapid edits: show the next progress no sooner than interval_s.
        await asyncio.wait({rebuild}, timeout=interval_s)
    try:
        status = rebuild.result()
    except Exception as exc:
        _LOGGER.exception("Reindex started by user %s failed", run.user_id)
        text = words.REINDEX_FAILED.say(error=type(exc).__name__)
    else:
        _LOGGER.info("Reindex done in %.1f s: %s articles", run.elapsed_s, status.articles)
        if after is not None:
            try:
                await after()
            except Exception:
                _LOGGER.exception("After the reindex")
        text = format_reindex_done(status, run.elapsed_s)
    if not await _show(progress_message, text):
        await bot.send_message(run.chat_id, text, parse_mode=ParseMode.HTML)
