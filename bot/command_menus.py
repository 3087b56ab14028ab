"""The command menus Telegram shows beside the message box, one per scope, set at start.

    for menu in command_menus(config.admin_ids):
        await bot.set_my_commands(menu.bot_commands(), scope=menu.scope, language_code=menu.language_code)

- **Private chats** (``BotCommandScopeAllPrivateChats``): any text is a question there, so
  no ``/ask``; the latest articles, notifications, help.
- **Groups** (``BotCommandScopeAllGroupChats``): ``/ask`` first, since a group's plain
  messages are not questions; no ``/start``.
- **The bot's admins** (``BotCommandScopeChat`` with each admin's user id, i.e. their private
  chat with the bot): the private menu and the admin commands. Admins are Telegram user
  ids (``HOPTAC_ADMIN_IDS``), not a group's administrators: ``BotCommandScopeAllChatAdministrators``
  would show ``/reindex`` to every group's administrators, whom the bot refuses.
- **Default** (everywhere else): the group menu, whose commands work in any chat.

Each menu is set twice: in Vietnamese for everyone (no language code) and in English for
users whose Telegram language is English (``language_code="en"``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)


@dataclass(frozen=True)
class Command:
    """One command of a menu, described in Vietnamese and in English."""

    name: str
    vietnamese: str
    english: str

    def described(self, language_code: str | None) -> BotCommand:
        return BotCommand(self.name, self.english if language_code == "en" else self.vietnamese)


ASK = Command("ask", "Đặt câu hỏi về tin hợp tác", "Ask about cooperation news")
LATEST = Command("latest", "Các bài mới nhất (/latest 10: 10 bài)", "The newest articles (/latest 10: ten)")
SOURCES = Command("sources", "Kho tin: các bài mới nhất và số bài", "The news archive: newest articles and count")
SUBSCRIBE = Command(
    "subscribe", "Nhận thông báo bài mới (theo tỉnh, chủ đề)", "Get notified of new articles (by place, topic)"
)
SUBSCRIPTIONS = Command("subscriptions", "Các đăng ký nhận thông báo", "What this chat is notified of")
UNSUBSCRIBE = Command("unsubscribe", "Thôi nhận thông báo bài mới", "Stop new-article notifications")
HELP = Command("help", "Hướng dẫn và ví dụ", "How to ask, with examples")
START = Command("start", "Giới thiệu", "About this bot")
ADD = Command("add", "Thêm bài từ địa chỉ web (quản trị)", "Add an article from a web address (admin)")
REINDEX = Command("reindex", "Lập chỉ mục lại (quản trị)", "Rebuild the search index (admin)")
STATUS = Command("status", "Trạng thái kho tin, thông báo, góp ý (quản trị)", "Index, notifications, feedback (admin)")
FEEDBACK = Command("feedback", "Các góp ý 👎 gần đây (quản trị)", "Recent 👎 feedback (admin)")

PRIVATE_COMMANDS = (LATEST, SOURCES, SUBSCRIBE, SUBSCRIPTIONS, UNSUBSCRIBE, HELP, START)
GROUP_COMMANDS = (ASK, LATEST, SOURCES, SUBSCRIBE, SUBSCRIPTIONS, UNSUBSCRIBE, HELP)
ADMIN_COMMANDS = (*PRIVATE_COMMANDS, ADD, REINDEX, STATUS, FEEDBACK)

#: None: everyone (Vietnamese); "en": users whose Telegram language is English.
LANGUAGE_CODES: tuple[str | None, ...] = (None, "en")


@dataclass(frozen=True)
class Menu:
    """The commands one scope shows, in one language."""

    scope: BotCommandScope
    commands: tuple[Command, ...]
    language_code: str | None

    def bot_commands(self) -> list[BotCommand]:
        return [command.described(self.language_code) for command in self.commands]


def command_menus(admin_ids: Collection[int]) -> list[Menu]:
    """Every menu the bot sets at start, the general ones first."""
    scoped: list[tuple[BotCommandScope, tuple[Command, ...]]] = [
        (BotCommandScopeDefault(), GROUP_COMMANDS),
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
    ]
    scoped += [(BotCommandScopeChat(admin_id), ADMIN_COMMANDS) for admin_id in sorted(admin_ids)]
    return [Menu(scope, commands, language) for scope, commands in scoped for language in LANGUAGE_CODES]
