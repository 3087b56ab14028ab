"""Who may switch notifications on or off for a chat.

    if await may_manage_notifications(bot, message, admin_ids):
        subscriptions.add(chat_id, chat_type="supergroup", title="Sở Ngoại vụ", user_id=user_id)

A private chat manages its own subscription. In a group, the group's administrators
(asked of Telegram with ``getChatMember``), an anonymous administrator posting as the
group, and the bot's own admins (``admin_ids``, Telegram user ids) may; nobody else.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Bot, ChatMember, Message
from telegram.constants import ChatType
from telegram.error import TelegramError

_LOGGER = logging.getLogger(__name__)

_GROUP_MANAGERS = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}


async def may_manage_notifications(bot: Bot, message: Message, admin_ids: Collection[int]) -> bool:
    """Whether the sender of ``message`` may subscribe or unsubscribe its chat."""
    chat, user = message.chat, message.from_user
    if chat.type == ChatType.PRIVATE:
        return True
    if message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator, posting as the group itself
    if user is None:
        return False
    if user.id in admin_ids:
        return True
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        _LOGGER.warning("getChatMember for user %s in chat %s failed: %s", user.id, chat.id, exc)
        return False
    return member.status in _GROUP_MANAGERS
