"""Per-user question limit: at most N questions in a sliding window of W seconds.

    limiter = QuestionLimiter(max_questions=6, window_s=60)
    decision = limiter.check(user_id)
    if not decision.allowed and decision.first_refusal:
        ...  # tell the user once, stay quiet on the rest of the burst

Only accepted questions count against the window, so a user who keeps typing while
refused is let in again as soon as the oldest accepted question leaves the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0
    first_refusal: bool = False  # the first refusal since the user's last accepted question


class QuestionLimiter:
    """Sliding-window limiter keyed by Telegram user id (event-loop only, not thread-safe)."""

    def __init__(self, max_questions: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_questions = max_questions
        self.window_s = window_s
        self._clock = clock
        self._accepted: dict[int, deque[float]] = {}
        self._refused: set[int] = set()

    def check(self, user_id: int) -> Decision:
        if self.max_questions <= 0:
            return Decision(allowed=True)
        now = self._clock()
        if len(self._accepted) > 10_000:
            self._forget_idle(now)
        times = self._accepted.setdefault(user_id, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) < self.max_questions:
            times.append(now)
            self._refused.discard(user_id)
            return Decision(allowed=True)
        first = user_id not in self._refused
        self._refused.add(user_id)
        return Decision(allowed=False, retry_after_s=self.window_s - (now - times[0]), first_refusal=first)

    def _forget_idle(self, now: float) -> None:
        idle = [u for u, t in self._accepted.items() if not t or now - t[-1] >= self.window_s]
        for user_id in idle:
            del self._accepted[user_id]
            self._refused.discard(user_id)
