"""One small async function per thing a user does; each parses the update, calls the
engine (off the event loop, through :class:`~bot.engine_client.EngineClient`) and
formats the reply. Registered in :func:`bot.app.build_application`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.addressing import command_argument, question_in
from bot.deps import BotDeps, get_deps
from bot.documents import add_document
from bot.engine_client import AnswerCutOff
from bot.format import (
    ASK_WHY_DISLIKED,
    SourceParagraph,
    example_questions,
    format_answer,
    format_dislike_counts,
    format_dislikes,
    format_full_sources,
    format_help,
    format_ingest_result,
    format_latest,
    format_no_more,
    format_not_found,
    format_notifications_status,
    format_progress,
    format_reason_noted,
    format_replica_status,
    format_sources,
    format_status,
)
from bot.inline import opened_page_id
from bot.keyboards import Action, answer_keyboard, parse_callback_data, reason_in, reason_keyboard
from bot.opening import format_opening
from bot.reindex import run_reindex
from bot.sending import reply_html, typing
from markup import catalogue as words
from news_pipeline.uploads import UploadRefused, add_page
from retrieval.models import Answer, Article
from storage.errors import StateStoreError
from storage.records import AnswerPage, FeedbackReason, Vote

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

STALE_BUTTON = words.STALE_BUTTON.say()
#: ``/latest`` without a number lists this many articles; with one, at most LATEST_MOST.
LATEST_DEFAULT = 5
LATEST_MOST = 20
#: ``/feedback`` without a number lists this many 👎; with one, at most FEEDBACK_MOST.
FEEDBACK_DEFAULT = 10
FEEDBACK_MOST = 50


def _language(update: Update) -> str | None:
    """The sender's Telegram language code (English words for "en", Vietnamese otherwise)."""
    user = update.effective_user
    return user.language_code if user is not None else None


# --- questions -----------------------------------------------------------------------


async def ask(update: Update, context: Context) -> None:
    """``/ask question`` (also ``/ask@botname question`` in groups)."""
    message = update.effective_message
    if message is not None:
        await _answer(message, context, command_argument(message))


async def question(update: Update, context: Context) -> None:
    """A text message: a question in a private chat; in a group only when it mentions
    the bot or replies to it, otherwise the bot stays silent."""
    message = update.effective_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    text = question_in(message, bot_username=context.bot.username, bot_id=context.bot.id)
    if text is None:
        if message.chat.type == ChatType.PRIVATE:
            await message.reply_text(words.UNKNOWN_COMMAND.say())
        return
    await _answer(message, context, text)


async def not_text(update: Update, context: Context) -> None:
    """A sticker, photo, voice message... in a private chat: say what the bot can read."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(words.NOT_TEXT.say())


async def unknown_command(update: Update, context: Context) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(words.UNKNOWN_COMMAND.say())


async def _answer(message: Message, context: Context, text: str) -> None:
    deps = get_deps(context)
    user_id = message.from_user.id if message.from_user else message.chat.id
    if not any(ch.isalnum() for ch in text):  # "", "???", only emoji: nothing to search for
        await message.reply_text(words.ASK_HOW.say())
        return
    if len(text) > deps.config.max_question_chars:
        await message.reply_text(words.QUESTION_TOO_LONG.say(length=len(text), most=deps.config.max_question_chars))
        return
    decision = deps.limiter.check(user_id)
    if not decision.allowed:
        if decision.first_refusal:
            await message.reply_text(words.TOO_FAST.say(seconds=int(decision.retry_after_s) + 1))
        return
    async with typing(context.bot, message.chat.id):
        answer = await deps.engine.ask(text, limit=deps.config.answer_sentences)
        if not answer.found or not answer.citations:
            await reply_html(message, await _not_found(deps, text))
            return
    await _send_answer_page(message, deps, answer, offset=0, user_id=user_id)


async def _not_found(deps: BotDeps, text: str) -> str:
    latest: Sequence[Article] = ()
    count: int | None = None
    with contextlib.suppress(Exception):  # the hint is a nicety; never fail the reply over it
        latest = await deps.engine.latest_articles(3)
        count = (await deps.engine.status()).articles
    return format_not_found(text, latest, count)


async def _send_answer_page(message: Message, deps: BotDeps, answer: Answer, offset: int, user_id: int) -> None:
    page = AnswerPage(
        question=answer.question or "",
        chat_id=message.chat.id,
        user_id=user_id,
        offset=offset,
        citations=answer.citations,
    )
    try:
        page_id = await asyncio.to_thread(deps.pages.add, page)
    except StateStoreError as exc:  # the database is down: the answer still goes, without its buttons
        _LOGGER.warning("Answering without buttons: %s", exc)
        await reply_html(message, format_answer(answer, first_number=offset + 1))
        return
    # The engine says whether quotes it accepts are left; one that does not say may keep
    # back weaker sentences on the first page, so "more" is offered there, and a later
    # page that came back short was the last one.
    more = answer.more_quotes
    if more is None:
        more = offset == 0 or len(answer.citations) >= deps.config.answer_sentences
    keyboard = answer_keyboard(page_id, more=more)
    await reply_html(message, format_answer(answer, first_number=offset + 1), keyboard)


# --- buttons under an answer ---------------------------------------------------------


async def _acknowledge(update: Update, text: str | None = None) -> None:
    """Stop the button's spinner (and show ``text``); failing to is no reason to stop."""
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(text)


@dataclass(frozen=True)
class _Pressed:
    """A button under an answer: the answer's page, the page's id and the answer message."""

    page: AnswerPage
    page_id: str
    message: Message


async def _pressed_page(update: Update, context: Context) -> _Pressed | None:
    """The page a button belongs to, or None after telling the user it is too old."""
    query = update.callback_query
    if query is None or query.data is None:
        return None
    parsed = parse_callback_data(query.data)
    page = await asyncio.to_thread(get_deps(context).pages.get, parsed[1]) if parsed else None
    if parsed is None or page is None or not isinstance(query.message, Message):
        await _acknowledge(update, STALE_BUTTON)
        return None
    return _Pressed(page, parsed[1], query.message)


async def _opened_page(update: Update, context: Context) -> _Pressed | None:
    """As :func:`_pressed_page`, for a button that answers with a message of its own: its
    spinner stops at once, not after the engine's (slower) work."""
    pressed = await _pressed_page(update, context)
    if pressed is not None:
        await _acknowledge(update)
    return pressed


async def full_source(update: Update, context: Context) -> None:
    """Button "Nguồn đầy đủ": the whole paragraph around each cited sentence."""
    pressed = await _opened_page(update, context)
    if pressed is None:
        return
    page, engine = pressed.page, get_deps(context).engine
    paragraphs: dict[tuple[str, str], SourceParagraph] = {}
    for number, citation in enumerate(page.citations, page.offset + 1):
        text = await engine.paragraph_around(citation.article_id, citation.start)
        key = (citation.article_id, text)
        seen = paragraphs.get(key)
        paragraphs[key] = SourceParagraph(
            numbers=(*seen.numbers, number) if seen else (number,),
            citation=seen.citation if seen else citation,
            paragraph=text,
            sentences=(*seen.sentences, citation.sentence) if seen else (citation.sentence,),
        )
    await reply_html(pressed.message, format_full_sources(page.question, list(paragraphs.values())))


async def opening(update: Update, context: Context) -> None:
    """Button "Nội dung chính" under a notification: the article's opening sentences, quoted."""
    pressed = await _opened_page(update, context)
    if pressed is not None:
        await reply_html(pressed.message, format_opening(pressed.page.citations))


async def more_results(update: Update, context: Context) -> None:
    """Button "Thêm kết quả": the next answers to the same question."""
    pressed = await _opened_page(update, context)
    if pressed is None:
        return
    page, message, deps = pressed.page, pressed.message, get_deps(context)
    offset = page.offset + len(page.citations)
    async with typing(context.bot, message.chat.id):
        answer = await deps.engine.ask(page.question, limit=deps.config.answer_sentences, offset=offset)
    if not answer.found or not answer.citations:
        await reply_html(message, format_no_more(page.question))
        return
    user = update.effective_user
    await _send_answer_page(message, deps, answer, offset=offset, user_id=user.id if user else page.user_id)


async def feedback(update: Update, context: Context) -> None:
    """👍/👎: stored with the question and the first quote; voting again replaces the earlier
    vote. After a 👎, a question below the answer offers the reasons to choose from."""
    pressed = await _pressed_page(update, context)
    query = update.callback_query
    if pressed is None or query is None or query.data is None:
        return
    parsed = parse_callback_data(query.data)
    liked = parsed is not None and parsed[0] == Action.LIKE
    if not await _record_vote(update, context, pressed, liked=liked):
        return
    await _acknowledge(update, (words.THANKS_LIKE if liked else words.THANKS_DISLIKE).say())
    if not liked:
        await reply_html(pressed.message, ASK_WHY_DISLIKED, reason_keyboard(pressed.page_id))


async def feedback_reason(update: Update, context: Context) -> None:
    """A reason under the question after a 👎: the presser's 👎 on that answer, with the reason."""
    pressed = await _pressed_page(update, context)
    query = update.callback_query
    reason = reason_in(query.data) if query is not None and query.data is not None else None
    if pressed is None or reason is None:
        if pressed is not None:
            await _acknowledge(update, STALE_BUTTON)
        return
    if not await _record_vote(update, context, pressed, liked=False, reason=reason):
        return
    await _acknowledge(update, words.THANKS_REASON.say())
    with contextlib.suppress(TelegramError):  # the reason is stored; the edit is a courtesy
        await pressed.message.edit_text(format_reason_noted(reason), reply_markup=None)


async def _record_vote(
    update: Update, context: Context, pressed: _Pressed, *, liked: bool, reason: FeedbackReason | None = None
) -> bool:
    """Store the presser's vote on the pressed page's answer; False when there is no presser."""
    user = update.effective_user
    if user is None:
        return False
    page = pressed.page
    vote = Vote(
        answer_id=pressed.page_id,
        question=page.question,
        vote=1 if liked else -1,
        chat_id=pressed.message.chat.id,
        user_id=user.id,
        result_offset=page.offset,
        citations=tuple((c.article_id, c.start, c.end) for c in page.citations),
        first_quote=page.citations[0].sentence if page.citations else "",
        reason=reason,
    )
    await asyncio.to_thread(get_deps(context).feedback.record, vote)
    return True


async def unknown_button(update: Update, context: Context) -> None:
    """A button this bot version does not know (e.g. from before an upgrade)."""
    await _acknowledge(update, STALE_BUTTON)


# --- commands ------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """``/start``: the greeting; ``/start a_<page id>`` (an inline answer's button) opens that
    answer here, with its buttons."""
    message = update.effective_message
    page_id = opened_page_id(context.args[0]) if context.args else None
    if message is None or page_id is None:
        await _send_help(update, context, greeting=True)
        return
    deps = get_deps(context)
    page = await asyncio.to_thread(deps.pages.get, page_id)
    if page is None or not page.citations:
        await message.reply_text(STALE_BUTTON)
        return
    answer = Answer(question=page.question, found=True, answer=page.citations[0].sentence, citations=page.citations)
    user = update.effective_user
    await _send_answer_page(message, deps, answer, offset=page.offset, user_id=user.id if user else page.user_id)


async def help_command(update: Update, context: Context) -> None:
    await _send_help(update, context, greeting=False)


async def _send_help(update: Update, context: Context, *, greeting: bool) -> None:
    if update.effective_message is None:
        return
    articles: Sequence[Article] = ()
    with contextlib.suppress(Exception):  # help must work even when the index is unavailable
        articles = await get_deps(context).engine.latest_articles(3)
    await reply_html(update.effective_message, format_help(example_questions(articles), greeting=greeting))


async def sources(update: Update, context: Context) -> None:
    """``/sources``: the latest indexed articles."""
    if update.effective_message is None:
        return
    deps = get_deps(context)
    articles = await deps.engine.latest_articles(5)
    count = (await deps.engine.status()).articles
    await reply_html(update.effective_message, format_sources(articles, count))


async def latest(update: Update, context: Context) -> None:
    """``/latest [n]``: the ``n`` newest indexed articles (5 unless said, at most 20), newest
    first, with date, title (linked) and source; in private chats and groups alike."""
    message = update.effective_message
    if message is None:
        return
    wanted = await _count_argument(message, LATEST_DEFAULT, LATEST_MOST, "/latest")
    if wanted is None:
        return
    deps = get_deps(context)
    articles = await deps.engine.latest_articles(min(wanted, LATEST_MOST))
    count = (await deps.engine.status()).articles
    capped = LATEST_MOST if wanted > LATEST_MOST else None
    await reply_html(message, format_latest(articles, count, capped_at=capped))


async def recent_feedback(update: Update, context: Context) -> None:
    """``/feedback [n]`` (admins): the ``n`` latest 👎 (10 unless said, at most 50), newest
    first, with question, first quote and reason; the totals by reason above them."""
    message = update.effective_message
    if message is None or await _refuse_non_admin(update, context):
        return
    wanted = await _count_argument(message, FEEDBACK_DEFAULT, FEEDBACK_MOST, "/feedback")
    if wanted is None:
        return
    store = get_deps(context).feedback
    dislikes = await asyncio.to_thread(store.recent, min(wanted, FEEDBACK_MOST), dislikes_only=True)
    counts = await asyncio.to_thread(store.dislikes_by_reason)
    await reply_html(message, format_dislikes(dislikes, counts))


async def _count_argument(message: Message, default: int, most: int, command: str) -> int | None:
    """The number after a command (``default`` without one); None after saying how, when the
    argument is not a positive whole number. A number over ``most`` is for the caller to cap."""
    argument = command_argument(message)
    if not argument:
        return default
    if not argument.isdecimal() or int(argument) < 1:
        await reply_html(message, words.COUNT_HOW.say(most=most, command=command))
        return None
    return int(argument)


async def _refuse_non_admin(update: Update, context: Context) -> bool:
    """True (after saying so) when the sender is not an admin."""
    user = update.effective_user
    if get_deps(context).is_admin(user.id if user else None):
        return False
    if update.effective_message is not None:
        await update.effective_message.reply_text(words.ADMIN_ONLY.say(_language(update)))
    _LOGGER.info("Refused admin command from user %s", user.id if user else None)
    return True


async def reindex(update: Update, context: Context) -> None:
    """``/reindex`` (admins): rebuild the index in the background, report progress and result."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or await _refuse_non_admin(update, context):
        return
    deps = get_deps(context)
    run = deps.reindex.try_start(user_id=user.id, chat_id=message.chat.id)
    if run is None:
        await message.reply_text(words.REINDEX_RUNNING.say(progress=deps.reindex.status_line() or "").strip())
        return
    progress_message = await message.reply_text(format_progress(None, 0, 0))
    announce = functools.partial(deps.notifier.index_changed, context.bot)  # articles put in the folder by hand
    interval = deps.reindex.progress_interval_s
    deps.reindex.launch(run_reindex(context.bot, deps.engine, run, progress_message, interval, after=announce))


async def status(update: Update, context: Context) -> None:
    """``/status`` (admins): articles, passages, model, index age, uptime."""
    if update.effective_message is None or await _refuse_non_admin(update, context):
        return
    deps = get_deps(context)
    index = await deps.engine.status()
    subscribers = await asyncio.to_thread(deps.subscriptions.count)
    pending = await asyncio.to_thread(deps.outbox.pending_count)
    feeds = await asyncio.to_thread(deps.feeds.states) if deps.feeds else []
    watcher = deps.watcher
    notifications = format_notifications_status(
        subscribers,
        pending,
        feeds,
        deps.config.corpus_watch_s if watcher else None,
        watcher.last_error if watcher else None,
    )
    text = format_status(index, deps.uptime_s, deps.reindex.status_line()) + "\n\n" + notifications
    text += "\n" + format_dislike_counts(await asyncio.to_thread(deps.feedback.dislikes_by_reason))
    text += "\n" + format_replica_status(deps.config.replica_name, deps.singletons.held())
    await reply_html(update.effective_message, text)


# --- adding articles ------------------------------------------------------------------


async def add(update: Update, context: Context) -> None:
    """``/add URL`` (admins): fetch the page, ingest its article, report the result."""
    message = update.effective_message
    if message is None or await _refuse_non_admin(update, context):
        return
    url = command_argument(message)
    if not url:
        await reply_html(message, words.ADD_HOW.say())
        return
    try:
        async with typing(context.bot, message.chat.id):
            deps = get_deps(context)
            result = await add_page(
                deps.ingestion,
                url,
                timeout_s=deps.config.fetch_timeout_s,
                max_bytes=deps.config.fetch_max_bytes,
                allowed_hosts=deps.config.fetch_allowed_hosts,
            )
    except UploadRefused as exc:
        await message.reply_text(exc.say(_language(update)))
        return
    await reply_html(message, format_ingest_result(url, result, _language(update)))


async def document(update: Update, context: Context) -> None:
    """A document sent to the bot in a private chat: admins' files are ingested."""
    message, user = update.effective_message, update.effective_user
    if message is None or message.document is None:
        return
    if not get_deps(context).is_admin(user.id if user else None):
        await message.reply_text(words.UPLOAD_ADMIN_ONLY.say(_language(update)))
        _LOGGER.info("Refused a document from user %s", user.id if user else None)
        return
    name = message.document.file_name or words.UPLOAD_DEFAULT_NAME.say()
    try:
        async with typing(context.bot, message.chat.id):
            result = await add_document(get_deps(context), context.bot, message.document)
    except UploadRefused as exc:
        await message.reply_text(f"⚠️ {exc.say(_language(update))}")
        return
    await reply_html(message, format_ingest_result(name, result, _language(update)))


# --- errors --------------------------------------------------------------------------


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its update id; tell the user something went wrong, no details."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, AnswerCutOff):  # stopping, the search engine too slow or out of reach
        _LOGGER.warning("Update %s: %s", update_id, context.error)
    else:
        _LOGGER.error("Update %s caused an error", update_id, exc_info=context.error)
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return
    await _acknowledge(update)  # stop the button's spinner, if not done yet
    if update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(words.SOMETHING_WENT_WRONG.say())
