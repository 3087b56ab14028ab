"""Getting every Bot API call through: flood limits waited out, network errors retried.

:class:`RetryingRateLimiter` is PTB's :class:`~telegram.ext.AIORateLimiter` (throttles to
Telegram's flood limits and, on a 429, waits ``retry_after`` and sends again) plus
retries with exponential backoff when the network fails. It wraps every call except
``getUpdates``, whose own loop in PTB already retries with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from bot.shutdown import Shutdown

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]


class RetryingRateLimiter(AIORateLimiter):
    """Usage: ``ApplicationBuilder().rate_limiter(RetryingRateLimiter())``.

    ``max_retries`` is how often a 429 is waited out; ``network_retries`` how often a
    call that failed on the network is tried again, after ``backoff_s``, then twice
    that, and so on. A ``TimedOut`` is retried too: a rare duplicate message is better
    than a lost answer. Bad requests (400) are never retried. While the bot stops
    (``shutdown``), a retry that would come after the stop's time is not made.
    """

    __slots__ = ("_backoff_s", "_network_retries", "_shutdown")

    def __init__(
        self,
        *,
        max_retries: int = 3,
        network_retries: int = 3,
        backoff_s: float = 0.5,
        shutdown: Shutdown | None = None,
    ) -> None:
        super().__init__(max_retries=max_retries)
        self._network_retries = network_retries
        self._backoff_s = backoff_s
        self._shutdown = shutdown

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        delay = self._backoff_s
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt == self._network_retries:
                    raise
                if self._shutdown is not None and self._shutdown.remaining() <= delay:
                    _LOGGER.warning("%s failed (%s); not retried: the bot is stopping", endpoint, exc)
                    raise
                _LOGGER.warning("%s failed (%s); retrying in %.1f s", endpoint, exc, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")
