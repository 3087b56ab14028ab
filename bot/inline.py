"""Inline mode: ``@bot câu hỏi`` typed in any chat lists answers to pick from.

    @hoptac_bot Hải Dương và Bắc Giang ký kết gì?

Each result is one cited article: its title, and as the preview its first quote and its
source; choosing one posts the formatted answer (the question, the quotes, each with its
article title linked to the article, source and date) in that chat, with a link button
to the article and one that opens the full answer in the bot (``/start a_<page id>``: its
buttons, "more results", 👍/👎, work there). The citations are kept in the state store as
an answer page (:class:`storage.interfaces.AnswerPageStore`) under the result's id, so
whichever replica gets the ``/start`` finds them.

Telegram sends a query for nearly every keystroke. Identical queries (same words, case
and spacing aside) within :data:`CACHE_S` seconds share one answer, on this replica: a
second one arriving while the first is being answered waits for it instead of asking the
engine again. Only the queries that reach the engine count against the user's question
limit (:class:`bot.throttle.QuestionLimiter`, the same as for chat questions). An empty
or too short query, a refused one (too fast, too long) or one without an answer gets no
results and a button into the private chat that says why, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.addressing import clean_question
from bot.deps import BotDeps, get_deps
from bot.format import format_answer
from bot.inline_cache import CACHE_S, InlineAnswer, InlineAnswerCache
from markup import catalogue as words
from markup.html import format_date, shorten, split_html
from retrieval.models import Answer, Citation
from retrieval.vietnamese.text import nfc
from storage.records import AnswerPage

_LOGGER = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

#: A query needs this many letters or digits before the engine is asked.
MIN_QUERY_CHARS = 4
#: Most results listed (one per cited article).
MAX_RESULTS = 5
#: ``/start`` payload that opens an inline answer in the private chat: ``a_<page id>``.
OPEN_PREFIX = "a_"
TYPE_A_QUESTION = words.INLINE_TYPE_A_QUESTION.say()
TOO_LONG = words.INLINE_TOO_LONG.say()
NOT_FOUND = words.INLINE_NOT_FOUND.say()
UNAVAILABLE = words.INLINE_UNAVAILABLE.say()
READ_ARTICLE = words.BUTTON_READ_ARTICLE.say()
OPEN_IN_BOT = words.BUTTON_OPEN_IN_BOT.say()


async def inline_query(update: Update, context: Context) -> None:
    """An inline query: answers from the cache, or from the engine within the user's limit."""
    query = update.inline_query
    if query is None:
        return
    deps = get_deps(context)
    text = clean_question(nfc(query.query))
    answer = await _answer_for(deps, text, query.from_user.id, context.bot.username)
    personal = answer.hint is not None  # "too fast" is this user's; so is "type a question" (no cache)
    with contextlib.suppress(TelegramError):  # the user typed on: this query is gone
        await query.answer(
            list(answer.results),
            cache_time=0 if personal else CACHE_S,
            is_personal=personal,
            button=answer.button(),
        )


async def _answer_for(deps: BotDeps, text: str, user_id: int, bot_username: str) -> InlineAnswer:
    if sum(ch.isalnum() for ch in text) < MIN_QUERY_CHARS:
        return InlineAnswer(hint=TYPE_A_QUESTION)
    if len(text) > deps.config.max_question_chars:
        return InlineAnswer(hint=TOO_LONG)
    cache: InlineAnswerCache = deps.inline_answers
    cached = cache.get(text)
    if cached is not None:  # answered, or being answered: no engine call, no count against the limit
        return await asyncio.shield(cached)
    decision = deps.limiter.check(user_id)
    if not decision.allowed:
        return InlineAnswer(hint=words.INLINE_TOO_FAST.say(seconds=int(decision.retry_after_s) + 1))
    pending: asyncio.Future[InlineAnswer] = asyncio.get_running_loop().create_future()
    cache.put(text, pending)
    answer = InlineAnswer(hint=UNAVAILABLE)
    try:
        answer = await _ask(deps, text, user_id, bot_username)
    except Exception:
        _LOGGER.exception("Inline query failed")
    finally:  # also when stopped half-way: whoever waits on it gets an answer
        pending.set_result(answer)
        if answer.hint is not None:
            cache.forget(text)  # nothing worth keeping: asked again, the engine is asked again
    return answer


async def _ask(deps: BotDeps, text: str, user_id: int, bot_username: str) -> InlineAnswer:
    answer = await deps.engine.ask(text, limit=deps.config.answer_sentences)
    if not answer.found or not answer.citations:
        return InlineAnswer(hint=NOT_FOUND)
    results = []
    for citations in _by_article(answer.citations)[:MAX_RESULTS]:
        page = AnswerPage(question=answer.question or text, chat_id=0, user_id=user_id, offset=0, citations=citations)
        page_id = await asyncio.to_thread(deps.pages.add, page)  # StateStoreError: handled as a failure
        results.append(_result(page_id, answer, citations, bot_username))
    return InlineAnswer(tuple(results))


def _by_article(citations: Sequence[Citation]) -> list[tuple[Citation, ...]]:
    """The citations grouped by article, best article first, each group in rank order."""
    groups: dict[str, list[Citation]] = {}
    for citation in citations:
        groups.setdefault(citation.article_id, []).append(citation)
    return [tuple(group) for group in groups.values()]


def _result(
    page_id: str, answer: Answer, citations: tuple[Citation, ...], bot_username: str
) -> InlineQueryResultArticle:
    first = citations[0]
    shown = Answer(question=answer.question, found=True, answer=first.sentence, citations=citations,
                   confidence=answer.confidence)  # fmt: skip
    message = split_html(format_answer(shown))[0]  # a message holds 4,096 characters: the first quotes
    buttons = [InlineKeyboardButton(OPEN_IN_BOT, url=f"https://t.me/{bot_username}?start={OPEN_PREFIX}{page_id}")]
    if first.url:
        buttons.insert(0, InlineKeyboardButton(READ_ARTICLE, url=first.url))
    where = ", ".join(part for part in (first.source, format_date(first.published)) if part)
    return InlineQueryResultArticle(
        id=page_id,
        title=shorten(first.title, 100),
        description=f"«{shorten(first.sentence, 160)}»\n{where}".strip(),
        input_message_content=InputTextMessageContent(
            message, parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
        ),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


def opened_page_id(payload: str) -> str | None:
    """The answer page a ``/start`` payload opens (``a_<page id>``); None for any other."""
    return payload[len(OPEN_PREFIX) :] if payload.startswith(OPEN_PREFIX) and len(payload) > len(OPEN_PREFIX) else None
