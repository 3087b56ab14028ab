"""Stopping within a bounded time, whatever is out of reach.

SIGTERM or SIGINT starts the clock (:meth:`Shutdown.begin`): from then on the replica takes
no new update, lets the answers in flight be sent, gives its leases back and closes its
stores, all within ``shutdown_s`` (``HOPTAC_SHUTDOWN_SECONDS``, well under a container's
30 s grace). Each wait of the stop is bounded by the time left (:meth:`Shutdown.within`),
and so are the Bot API's retries (:class:`bot.delivery.RetryingRateLimiter`): with
Telegram, PostgreSQL or Milvus out of reach, what is not done in time is given up, one
log line says what, and the process exits.

    shutdown = Shutdown(10.0)
    shutdown.begin()                                                # at the signal
    await shutdown.within("the answers in flight", application.stop())   # False: cut off
    shutdown.remaining()                                            # seconds left (inf before)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import Application

_LOGGER = logging.getLogger(__name__)

SETTING = "HOPTAC_SHUTDOWN_SECONDS"
#: Kept for closing the stores and giving the leases back (at most a quarter of the time).
CLOSING_S = 2.0
#: What cancelled tasks get to unwind once the time is up.
UNWIND_S = 0.5
#: Kept for sending the "try again" of an answer given up (at most a quarter of the time).
REPLYING_S = 1.0


class Shutdown:
    """The clock of one stop: when it began, what is left, what was given up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.began_at: float | None = None
        self.given_up: list[str] = []
        self._began = asyncio.Event()

    def begin(self) -> None:
        """Start the clock (a second call changes nothing)."""
        if self.began_at is None:
            self.began_at = time.monotonic()
            self._began.set()
            _LOGGER.info("Stopping: at most %g s (%s)", self.seconds, SETTING)

    async def answers_cut_off(self) -> None:
        """Return once an answer still being worked out must be given up: when stopping,
        with only the time left to send the user a "try again" and to close (a search engine
        out of reach would otherwise keep the answer, and the user's reply, past the stop)."""
        await self._began.wait()
        answering_s = self.seconds - _kept_for_closing(self) - min(REPLYING_S, self.seconds / 4)
        await asyncio.sleep(max(0.0, answering_s - self.elapsed()))

    @property
    def stopping(self) -> bool:
        return self.began_at is not None

    def elapsed(self) -> float:
        return 0.0 if self.began_at is None else time.monotonic() - self.began_at

    def remaining(self) -> float:
        """Seconds left before the stop must be over; infinite while not stopping."""
        if self.began_at is None:
            return math.inf
        return max(0.0, self.seconds - self.elapsed())

    async def within(self, what: str, step: Awaitable[Any], *, keep_s: float = 0.0) -> bool:
        """Await ``step`` while time is left (less ``keep_s``, kept for the steps after it);
        True when it finished (its errors are logged, not raised). Cut off, it is cancelled
        and not waited for, ``what`` is logged as given up, and False is returned."""
        task = asyncio.ensure_future(step)
        limit = max(0.0, self.remaining() - keep_s)
        done, _ = await asyncio.wait({task}, timeout=None if math.isinf(limit) else limit)
        if not done:
            task.cancel()
            self.given_up.append(what)
            _LOGGER.warning("Stopping: gave up on %s after %.1f s", what, self.elapsed())
            return False
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.warning("Stopping: %s failed: %s", what, task.exception())
        return True


async def shut_down(
    application: Application, shutdown: Shutdown, *, before_closing: Awaitable[Any] | None = None
) -> None:
    """Stop the application if it runs (the answers in flight are sent first), await
    ``before_closing``, then shut the application down and run its ``post_shutdown``; each
    step within the time left, a little being kept for the last (closing the stores)."""
    if application.job_queue is not None and application.job_queue.scheduler.running:
        application.job_queue.scheduler.pause()  # no job starts any more; those running may finish
    if application.running:
        await shutdown.within("the answers in flight", application.stop(), keep_s=_kept_for_closing(shutdown))
    if before_closing is not None:
        await shutdown.within("long polling's last getUpdates", before_closing, keep_s=_kept_for_closing(shutdown))
    await shutdown.within("closing the Bot API client", application.shutdown())
    if application.post_shutdown:
        await shutdown.within("giving the leases back and closing the stores", application.post_shutdown(application))


def _kept_for_closing(shutdown: Shutdown) -> float:
    return min(CLOSING_S, shutdown.seconds / 4)


def run_until_stopped(
    start: Callable[[], Coroutine[Any, Any, None]], stop: Callable[[], Awaitable[None]], shutdown: Shutdown
) -> None:
    """``start()``, then the current event loop until SIGINT/SIGTERM (or ``loop.stop()``),
    then ``stop()`` (also when ``start()`` failed or was interrupted), within the shutdown's
    time, and the loop is closed. A signal while starting interrupts the start."""
    loop = asyncio.get_event_loop()
    starting: asyncio.Task[None] = loop.create_task(start())

    def on_stop_signal() -> None:
        if shutdown.stopping:
            _LOGGER.info("Already stopping (%.1f s of at most %g s)", shutdown.elapsed(), shutdown.seconds)
            return
        shutdown.begin()
        if starting.done():
            loop.stop()
        else:  # e.g. Telegram out of reach while starting: the start's retries are cut short
            starting.cancel()

    signals = []
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(stop_signal, on_stop_signal)
            signals.append(stop_signal)
    try:
        try:
            loop.run_until_complete(starting)
        except asyncio.CancelledError:
            _LOGGER.warning("Stopped while starting")
        else:
            loop.run_forever()
    finally:
        shutdown.begin()
        try:
            loop.run_until_complete(_stop_in_time(stop, shutdown))
        finally:
            for stop_signal in signals:
                loop.remove_signal_handler(stop_signal)
            loop.close()


async def _stop_in_time(stop: Callable[[], Awaitable[None]], shutdown: Shutdown) -> None:
    """``stop()`` within the time left; then whatever still runs on the loop is cancelled."""
    finished = await shutdown.within("stopping", stop())
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    if leftovers:  # a moment to unwind; a task that ignores cancellation is left behind
        await asyncio.wait(leftovers, timeout=UNWIND_S)
    if finished and not shutdown.given_up:
        _LOGGER.info("Stopped in %.1f s", shutdown.elapsed())
    else:
        given_up = ", ".join(shutdown.given_up)
        _LOGGER.error(
            "Stopped after %.1f s without %s (Telegram, the database or the search engine out of reach?): %s is %g s",
            shutdown.elapsed(),
            given_up,
            SETTING,
            shutdown.seconds,
        )
