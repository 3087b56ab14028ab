"""``/subscribe``, ``/subscriptions`` and ``/unsubscribe``: which new articles a chat hears of.

    /subscribe                 every new article (as before filters existed)
    /subscribe Hải Phòng       articles about the 2025 unit or a unit it took in (Hải Dương...)
    /subscribe du lịch         articles holding the keyword
    /subscriptions             the chat's filters, each with how to remove it
    /unsubscribe Hải Phòng     removes that filter; /unsubscribe (or "tất cả") removes them all

A chat may hold several filters and hears of an article once, whichever match
(:mod:`notifications.subscription_filters`). Private chats manage their own; in groups the
group's administrators or the bot's admins (:mod:`bot.permissions`); anyone may list.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.addressing import command_argument
from bot.deps import get_deps
from bot.permissions import may_manage_notifications
from bot.sending import reply_html
from markup import catalogue as words
from markup.html import escape
from notifications.subscription_filters import FilterRequest, describe, read_filter
from retrieval.vietnamese.text import fold, nfc
from storage.records import EVERYTHING, FilterKind, SubscriptionFilter

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

#: Most filters one chat may hold.
MAX_FILTERS = 20
HOW = words.SUBSCRIBE_HOW.say()
TOO_LONG = words.SUBSCRIBE_TOO_LONG.say() + "\n\n" + HOW
TOO_MANY = words.SUBSCRIBE_TOO_MANY.say(most=MAX_FILTERS)
#: What ``/unsubscribe`` takes to remove every filter at once (folded words).
_ALL_WORDS = (fold(words.ALL_WORDS.say()), "")


def _where(message: Message) -> str:
    return (words.HERE_PRIVATE if message.chat.type == ChatType.PRIVATE else words.HERE_GROUP).say()


def _argument_for(what: SubscriptionFilter) -> str:
    """What to type after /unsubscribe to remove ``what``."""
    return what.value if what.kind is not FilterKind.EVERYTHING else words.EVERY_ARTICLE.say()


def _removal_hint(what: SubscriptionFilter) -> str:
    return f"<code>/unsubscribe {escape(_argument_for(what))}</code>"


async def subscribe(update: Update, context: Context) -> None:
    """``/subscribe [place or keyword]``: this chat hears of new articles, of all or of those the
    filter matches (in groups: its administrators decide)."""
    message = update.effective_message
    if message is None:
        return
    request = read_filter(nfc(command_argument(message)))
    if request is None:
        await reply_html(message, TOO_LONG)
        return
    if not await _may_manage(message, context):
        return
    subscriptions = get_deps(context).subscriptions
    chat, user = message.chat, message.from_user
    held = await asyncio.to_thread(subscriptions.filters, chat.id)
    if len(held) >= MAX_FILTERS and request.filter not in held:
        await reply_html(message, TOO_MANY)
        return
    title = chat.title or chat.full_name or ""
    added = await asyncio.to_thread(
        subscriptions.add, chat.id, chat.type, title, user.id if user else None, request.filter
    )
    await reply_html(message, _subscribed_text(message, request, added, held))


def _subscribed_text(message: Message, request: FilterRequest, added: bool, held: list[SubscriptionFilter]) -> str:
    where, what = _where(message), request.filter
    if what == EVERYTHING:
        if added:
            return words.SUBSCRIBED_ALL.say(where=where)
        return words.ALREADY_SUBSCRIBED_ALL.say(where=where.capitalize())
    lines = []
    if request.named is not None:
        named = request.named
        kind, name, now = escape(named.kind.capitalize()), escape(named.name), escape(named.now)
        lines.append(words.UNIT_NOW_IN.say(kind=kind, name=name, now=now))
    label = escape(describe(what))
    if added:
        lines.append(words.SUBSCRIBED_TO.say(where=where, label=label))
        if EVERYTHING in held:
            lines.append(words.STILL_EVERYTHING.say(removal=_removal_hint(EVERYTHING)))
    else:
        lines.append(words.ALREADY_SUBSCRIBED_TO.say(where=where.capitalize(), label=label))
    lines.append(words.SUBSCRIPTIONS_FOOTER.say(removal=_removal_hint(what)))
    return "\n".join(lines)


async def subscriptions(update: Update, context: Context) -> None:
    """``/subscriptions``: what this chat hears of, each with how to remove it (anyone may ask)."""
    message = update.effective_message
    if message is None:
        return
    held = await asyncio.to_thread(get_deps(context).subscriptions.filters, message.chat.id)
    if not held:
        await reply_html(message, f"{words.NO_SUBSCRIPTIONS.say()}\n\n{HOW}")
        return
    lines = [words.SUBSCRIPTIONS_HEADER.say(where=_where(message).capitalize())]
    lines += [words.SUBSCRIPTION_LINE.say(label=escape(describe(what)), removal=_removal_hint(what)) for what in held]
    lines.append(words.SUBSCRIPTIONS_HOW.say())
    await reply_html(message, "\n".join(lines))


async def unsubscribe(update: Update, context: Context) -> None:
    """``/unsubscribe [filter]``: removes one filter, or (without one, or "tất cả") every one."""
    message = update.effective_message
    if message is None:
        return
    argument = nfc(command_argument(message))
    request = None if fold(argument) in _ALL_WORDS else read_filter(argument)
    if argument and fold(argument) not in _ALL_WORDS and request is None:
        await reply_html(message, words.NO_SUCH_SUBSCRIPTION.say())
        return
    if not await _may_manage(message, context):
        return
    deps = get_deps(context)
    chat_id = message.chat.id
    if request is None:
        removed = await asyncio.to_thread(deps.subscriptions.remove, chat_id)
        await asyncio.to_thread(deps.outbox.drop_chat, chat_id, "unsubscribed")
        await reply_html(message, (words.UNSUBSCRIBED_ALL if removed else words.NOT_SUBSCRIBED).say())
        return
    what = request.filter
    removed = await asyncio.to_thread(deps.subscriptions.remove_filter, chat_id, what)
    label = escape(describe(what))
    if not removed:
        await reply_html(message, words.NOT_SUBSCRIBED_TO.say(label=label))
        return
    if await asyncio.to_thread(deps.subscriptions.is_subscribed, chat_id):
        await reply_html(message, words.UNSUBSCRIBED_FROM.say(label=label))
        return
    await asyncio.to_thread(deps.outbox.drop_chat, chat_id, "unsubscribed")
    await reply_html(message, words.UNSUBSCRIBED_LAST.say(label=label))


async def _may_manage(message: Message, context: Context) -> bool:
    """True when the sender may switch notifications here; otherwise says why not."""
    if await may_manage_notifications(context.bot, message, get_deps(context).config.admin_ids):
        return True
    await message.reply_text(words.NOT_GROUP_ADMIN.say())
    user = message.from_user
    _LOGGER.info("Refused a subscription change by user %s in chat %s", user.id if user else None, message.chat.id)
    return False
