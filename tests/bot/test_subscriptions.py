"""/subscribe and /unsubscribe: private chats for themselves, groups by their administrators."""

from __future__ import annotations

from tests.bot_harness import ADMIN, BINH, GROUP, LAN, PRIVATE_LAN, WAIT_S, BotHarness


async def say(bot: BotHarness, chat_user: tuple, text: str) -> str:  # type: ignore[type-arg]
    chat, user = chat_user
    bot.api.send_text(chat, user, text)
    return str((await bot.api.next_message(chat.id, WAIT_S))["text"])


async def test_a_private_chat_subscribes_and_unsubscribes_itself(bot: BotHarness) -> None:
    first = await say(bot, (PRIVATE_LAN, LAN), "/subscribe")
    again = await say(bot, (PRIVATE_LAN, LAN), "/subscribe")
    assert bot.deps.subscriptions.is_subscribed(PRIVATE_LAN.id)
    off = await say(bot, (PRIVATE_LAN, LAN), "/unsubscribe")
    off_again = await say(bot, (PRIVATE_LAN, LAN), "/unsubscribe")

    assert "Đã bật thông báo" in first and "cuộc trò chuyện này" in first
    assert "đã đăng ký nhận thông báo bài mới rồi" in again
    assert "Đã tắt thông báo" in off and "chưa đăng ký" in off_again
    assert not bot.deps.subscriptions.is_subscribed(PRIVATE_LAN.id)


async def test_a_group_member_who_is_not_an_administrator_is_refused(bot: BotHarness) -> None:
    reply = await say(bot, (GROUP, BINH), "/subscribe@hoptac_test_bot")

    assert "Chỉ quản trị viên của nhóm" in reply
    assert not bot.deps.subscriptions.is_subscribed(GROUP.id)
    [check] = bot.api.calls_to("getChatMember", GROUP.id)
    assert check.params["user_id"] == BINH.id


async def test_a_group_administrator_subscribes_the_group(bot: BotHarness) -> None:
    bot.api.chat_admins.add((GROUP.id, LAN.id))

    reply = await say(bot, (GROUP, LAN), "/subscribe")
    [subscription] = bot.deps.subscriptions.all()

    assert "Đã bật thông báo" in reply and "nhóm này" in reply
    assert (subscription.chat_id, subscription.chat_type, subscription.title) == (GROUP.id, "supergroup", GROUP.title)
    assert subscription.subscribed_by == LAN.id


async def test_the_bots_own_admins_may_manage_any_group_and_non_admins_cannot_unsubscribe(bot: BotHarness) -> None:
    subscribed = await say(bot, (GROUP, ADMIN), "/subscribe")
    refused = await say(bot, (GROUP, BINH), "/unsubscribe")

    assert "Đã bật thông báo" in subscribed
    assert "Chỉ quản trị viên của nhóm" in refused
    assert bot.deps.subscriptions.is_subscribed(GROUP.id)
    assert bot.api.calls_to("getChatMember", GROUP.id)[0].params["user_id"] == BINH.id  # the bot admin needed no check
