"""What a failed Telegram send means for a notification (see :mod:`notifications.sending`).

The notifier sends through the application's ``telegram.Bot`` and hands every error it
raises to :func:`read_send_failure`, which is the only place that knows Telegram's errors.
"""

from __future__ import annotations

from datetime import timedelta

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from notifications.sending import FailureKind, SendFailure


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def read_send_failure(error: BaseException) -> SendFailure | None:
    """Telegram's error -> what the notifier should do; None for anything that is not one."""
    if isinstance(error, RetryAfter):  # a flood limit, after the rate limiter's own retries
        return SendFailure(FailureKind.RETRY_LATER, retry_after_s=_seconds(error.retry_after))
    if isinstance(error, ChatMigrated):
        return SendFailure(FailureKind.CHAT_MOVED, new_chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):  # blocked, kicked, or the bot may not write there
        return SendFailure(FailureKind.CHAT_GONE)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return SendFailure(FailureKind.CHAT_GONE)
        return SendFailure(FailureKind.REFUSED)
    if isinstance(error, NetworkError):  # includes TimedOut; BadRequest and Forbidden were read above
        return SendFailure(FailureKind.TRANSIENT)
    return None
