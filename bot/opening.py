"""The "📰 Nội dung chính" button under a new-article notification: the article's opening.

    notifier = Notifier(outbox, subscriptions, engine, read_send_failure, buttons=OpeningButtons(engine, pages))
    # a press on "lead:<page id>" -> handlers.opening -> format_opening(page.citations)

Asking the bot "Nội dung chính của …?" searches and quotes whatever matches best, which is
seldom the article's point. The button instead quotes the article's opening, verbatim: the
first sentences of its first paragraph (its sapo, usually; :func:`notifications.digest.opening_of`),
with the usual citation (title linked, source, date). The quote is kept as an answer page
(:class:`storage.interfaces.AnswerPageStore`, shared by replicas), since an article id may
not fit in the 64 bytes of a button; one page per article, made when it is first announced.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine_client import EngineClient
from bot.format import source_line
from bot.keyboards import Action, callback_data
from markup import catalogue as words
from markup.html import escape, shorten
from notifications.digest import opening_of
from retrieval.models import Citation
from storage.interfaces import AnswerPageStore
from storage.records import AnswerPage, Notice

_LOGGER = logging.getLogger(__name__)

#: Most buttons under one notification (a digest lists up to 30 articles).
MAX_BUTTONS = 8
#: How much of a title a digest's button shows.
BUTTON_TITLE_CHARS = 40
#: Articles whose page this replica remembers (a digest goes to many chats: made once).
REMEMBERED = 512


class OpeningButtons:
    """A :data:`notifications.sending.ButtonMaker`: one "Nội dung chính" button per article."""

    def __init__(self, engine: EngineClient, pages: AnswerPageStore) -> None:
        self.engine = engine
        self.pages = pages
        self._page_ids: OrderedDict[str, str] = OrderedDict()

    async def __call__(self, notices: Sequence[Notice]) -> InlineKeyboardMarkup | None:
        rows = []
        for notice in notices[:MAX_BUTTONS]:
            page_id = await self._page_for(notice)
            if page_id is None:
                continue
            if len(notices) == 1:
                label = words.BUTTON_OPENING.say()
            else:
                label = words.BUTTON_OPENING_OF.say(title=shorten(notice.title, BUTTON_TITLE_CHARS))
            rows.append([InlineKeyboardButton(label, callback_data=callback_data(Action.OPENING, page_id))])
        return InlineKeyboardMarkup(rows) if rows else None

    async def _page_for(self, notice: Notice) -> str | None:
        """The answer page quoting the article's opening; None when the index no longer holds it."""
        known = self._page_ids.get(notice.article_id)
        if known is not None:
            return known
        try:
            article = await self.engine.article(notice.article_id)
        except KeyError:
            _LOGGER.info("No opening for %s: not in the index any more", notice.article_id)
            return None
        span = opening_of(article)
        if span is None:
            return None
        start, end = span
        citation = Citation.quoting(article, article.text[start:end], start, end, score=1.0)
        page = AnswerPage(question=article.title, chat_id=0, user_id=0, offset=0, citations=(citation,))
        page_id = await asyncio.to_thread(self.pages.add, page)
        self._page_ids[notice.article_id] = page_id
        while len(self._page_ids) > REMEMBERED:
            self._page_ids.popitem(last=False)
        return page_id


def format_opening(citations: Sequence[Citation]) -> str:
    """The button's reply: the opening sentences verbatim, then title (linked), source and date."""
    blocks = [words.OPENING_HEADER.say()]
    for c in citations:
        where = source_line(c.title, c.url, c.source, c.published)
        blocks.append(f"«{escape(c.sentence)}»\n<i>— {where}</i>")
    return "\n\n".join(blocks)
