"""Flood limits, network failures and engine errors: answers arrive once, errors stay vague."""

from __future__ import annotations

from tests.bot_harness import FAILING, LAN, MOU, PRIVATE_LAN, QUESTION, BotHarness


async def test_a_429_is_waited_out_and_the_answer_delivered_once(bot: BotHarness) -> None:
    bot.api.fail_next("sendMessage", times=1, retry_after=1)

    reply = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    assert MOU in reply["text"]
    rejected = bot.api.calls_to("sendMessage", PRIVATE_LAN.id, ok=False)
    assert [call.status for call in rejected] == [429]
    assert len(bot.api.calls_to("sendMessage", PRIVATE_LAN.id)) == 1


async def test_a_network_failure_is_retried(bot: BotHarness) -> None:
    bot.api.fail_next("sendMessage", times=1, status=502)

    reply = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    assert MOU in reply["text"]
    assert [call.status for call in bot.api.calls_to("sendMessage", ok=False)] == [502]


async def test_an_engine_failure_tells_the_user_without_internals(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, f"Câu này {FAILING}")

    assert "đã có lỗi" in reply["text"]
    assert "faiss" not in reply["text"] and "RuntimeError" not in reply["text"]
    # ...and the bot keeps working
    assert MOU in (await bot.ask_private(LAN, PRIVATE_LAN, QUESTION))["text"]
