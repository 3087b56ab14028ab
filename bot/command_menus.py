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

from markup import catalogue as words
from markup.catalogue import Words


@dataclass(frozen=True)
class Command:
    """One command of a menu, described in Vietnamese and in English (:mod:`markup.catalogue`)."""

    name: str
    description: Words

    def described(self, language_code: str | None) -> BotCommand:
        return BotCommand(self.name, self.description.say(language_code))


ASK = Command("ask", words.MENU_ASK)
LATEST = Command("latest", words.MENU_LATEST)
SOURCES = Command("sources", words.MENU_SOURCES)
SUBSCRIBE = Command("subscribe", words.MENU_SUBSCRIBE)
SUBSCRIPTIONS = Command("subscriptions", words.MENU_SUBSCRIPTIONS)
UNSUBSCRIBE = Command("unsubscribe", words.MENU_UNSUBSCRIBE)
HELP = Command("help", words.MENU_HELP)
START = Command("start", words.MENU_START)
ADD = Command("add", words.MENU_ADD)
REINDEX = Command("reindex", words.MENU_REINDEX)
STATUS = Command("status", words.MENU_STATUS)
FEEDBACK = Command("feedback", words.MENU_FEEDBACK)

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
