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
from markup.html import escape
from notifications.subscription_filters import FilterRequest, describe, read_filter
from retrieval.vietnamese.text import fold, nfc
from storage.records import EVERYTHING, FilterKind, SubscriptionFilter

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

#: Most filters one chat may hold.
MAX_FILTERS = 20
NOT_GROUP_ADMIN = "⛔ Chỉ quản trị viên của nhóm mới bật hoặc tắt được thông báo bài mới cho nhóm."
HOW = (
    "Đăng ký nhận thông báo bài mới:\n"
    "• <code>/subscribe</code>: mọi bài mới\n"
    "• <code>/subscribe Hải Phòng</code>: bài về một tỉnh, thành phố (theo địa giới từ 1/7/2025, "
    "gồm cả các tỉnh, huyện đã nhập vào; gõ không dấu cũng được)\n"
    "• <code>/subscribe du lịch</code>: bài có từ khóa đó"
)
TOO_LONG = "Từ khóa dài quá; hãy dùng một từ hoặc cụm từ ngắn (dưới 60 ký tự).\n\n" + HOW
TOO_MANY = f"Nơi này đã có {MAX_FILTERS} đăng ký; hãy bỏ bớt (xem /subscriptions) rồi thêm."
#: What ``/unsubscribe`` takes to remove every filter at once (folded words).
_ALL_WORDS = ("tat ca", "")


def _where(message: Message) -> str:
    return "cuộc trò chuyện này" if message.chat.type == ChatType.PRIVATE else "nhóm này"


def _argument_for(what: SubscriptionFilter) -> str:
    """What to type after /unsubscribe to remove ``what``."""
    return what.value if what.kind is not FilterKind.EVERYTHING else "mọi bài"


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
            return (
                f"🔔 Đã bật thông báo: {where} sẽ nhận tin mỗi khi có bài mới được đưa vào kho tin. Tắt: /unsubscribe"
            )
        return f"🔔 {where.capitalize()} đã đăng ký nhận thông báo bài mới rồi. Tắt: /unsubscribe"
    lines = []
    if request.named is not None:
        named = request.named
        lines.append(f"ℹ️ {escape(named.kind.capitalize())} {escape(named.name)} nay thuộc {escape(named.now)}.")
    label = escape(describe(what))
    if added:
        lines.append(f"🔔 Đã bật thông báo: {where} sẽ nhận tin khi có bài mới về {label}.")
        if EVERYTHING in held:
            lines.append(f"Nơi này vẫn nhận mọi bài mới; chỉ nhận theo đăng ký riêng: {_removal_hint(EVERYTHING)}")
    else:
        lines.append(f"🔔 {where.capitalize()} đã đăng ký nhận tin về {label} rồi.")
    lines.append(f"Các đăng ký: /subscriptions · Bỏ: {_removal_hint(what)}")
    return "\n".join(lines)


async def subscriptions(update: Update, context: Context) -> None:
    """``/subscriptions``: what this chat hears of, each with how to remove it (anyone may ask)."""
    message = update.effective_message
    if message is None:
        return
    held = await asyncio.to_thread(get_deps(context).subscriptions.filters, message.chat.id)
    if not held:
        await reply_html(message, f"Nơi này chưa đăng ký nhận thông báo bài mới.\n\n{HOW}")
        return
    lines = [f"🔔 {_where(message).capitalize()} nhận thông báo khi có bài mới về:"]
    lines += [f"• {escape(describe(what))} (bỏ: {_removal_hint(what)})" for what in held]
    lines.append("\nBỏ hết: /unsubscribe · Thêm: /subscribe và tên tỉnh, thành phố hoặc từ khóa")
    await reply_html(message, "\n".join(lines))


async def unsubscribe(update: Update, context: Context) -> None:
    """``/unsubscribe [filter]``: removes one filter, or (without one, or "tất cả") every one."""
    message = update.effective_message
    if message is None:
        return
    argument = nfc(command_argument(message))
    request = None if fold(argument) in _ALL_WORDS else read_filter(argument)
    if argument and fold(argument) not in _ALL_WORDS and request is None:
        await reply_html(message, "Không có đăng ký nào như vậy. Xem các đăng ký: /subscriptions")
        return
    if not await _may_manage(message, context):
        return
    deps = get_deps(context)
    chat_id = message.chat.id
    if request is None:
        removed = await asyncio.to_thread(deps.subscriptions.remove, chat_id)
        await asyncio.to_thread(deps.outbox.drop_chat, chat_id, "unsubscribed")
        if removed:
            text = "🔕 Đã tắt thông báo bài mới. Bật lại: /subscribe"
        else:
            text = "Nơi này chưa đăng ký nhận thông báo. Bật: /subscribe"
        await reply_html(message, text)
        return
    what = request.filter
    removed = await asyncio.to_thread(deps.subscriptions.remove_filter, chat_id, what)
    label = escape(describe(what))
    if not removed:
        await reply_html(message, f"Nơi này chưa đăng ký nhận tin về {label}. Xem các đăng ký: /subscriptions")
        return
    if await asyncio.to_thread(deps.subscriptions.is_subscribed, chat_id):
        await reply_html(message, f"🔕 Đã bỏ đăng ký {label}. Các đăng ký còn lại: /subscriptions")
        return
    await asyncio.to_thread(deps.outbox.drop_chat, chat_id, "unsubscribed")
    await reply_html(
        message, f"🔕 Đã bỏ đăng ký {label}; nơi này không còn nhận thông báo bài mới. Bật lại: /subscribe"
    )


async def _may_manage(message: Message, context: Context) -> bool:
    """True when the sender may switch notifications here; otherwise says why not."""
    if await may_manage_notifications(context.bot, message, get_deps(context).config.admin_ids):
        return True
    await message.reply_text(NOT_GROUP_ADMIN)
    user = message.from_user
    _LOGGER.info("Refused a subscription change by user %s in chat %s", user.id if user else None, message.chat.id)
    return False
