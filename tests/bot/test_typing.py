""" "typing…" shows only while an answer is slow, and never fails the answer."""

from __future__ import annotations

import asyncio

from telegram.error import NetworkError

from bot.sending import typing


class ChatActions:
    """Records send_chat_action calls; ``shown`` is set at the first one."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[int, str]] = []
        self.shown = asyncio.Event()
        self.fail = fail

    async def send_chat_action(self, chat_id: int, action: str) -> bool:
        self.calls.append((chat_id, action))
        self.shown.set()
        if self.fail:
            raise NetworkError("connection reset")
        return True


async def test_a_quick_answer_sends_no_typing() -> None:
    bot = ChatActions()
    async with typing(bot, 42, delay=30):  # type: ignore[arg-type]
        pass
    await asyncio.sleep(0)  # let the cancelled indicator task finish
    assert bot.calls == []


async def test_a_slow_answer_shows_typing_until_it_ends() -> None:
    bot = ChatActions()
    async with typing(bot, 42, delay=0):  # type: ignore[arg-type]
        await asyncio.wait_for(bot.shown.wait(), timeout=5)
    assert bot.calls == [(42, "typing")]


async def test_a_failing_typing_action_does_not_fail_the_answer() -> None:
    bot = ChatActions(fail=True)
    async with typing(bot, 42, delay=0):  # type: ignore[arg-type]
        await asyncio.wait_for(bot.shown.wait(), timeout=5)
        answer = "still answered"
    assert answer == "still answered"
