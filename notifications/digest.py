"""New-article notifications as Telegram HTML: one article, or a digest of many.

    notice = notice_for(article)                       # title, date, source, lead sentences
    for message in digest_messages([notice, ...]):     # each under 4,096 characters
        for text in message.texts: await bot.send_message(chat_id, text)
        outbox.mark_sent(chat_id, message.article_ids)

The lead is the article's first sentence or two, quoted verbatim from the stored text
(split by :func:`retrieval.articles.sentences.split_sentences`), so it reads exactly as the
answers the bot will quote when asked about it. Every piece of article text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markup import catalogue as words
from markup.html import MESSAGE_LIMIT, escape, format_date, link, split_html, utf16_len
from retrieval.articles.sentences import split_sentences
from retrieval.models import Article, Sentence
from storage.records import Notice

#: Tag an article gets when only the feed's summary could be fetched (see news_pipeline.feed_poll).
SUMMARY_ONLY_TAG = "summary-only"
#: A lead shorter than this takes the next sentence too (datelines, bylines, short openers).
LEAD_MIN_CHARS = 120
#: ... unless the two together would be longer than this.
LEAD_MAX_CHARS = 450
#: Fewer words than this before the first sentence is a date line or a byline, not the lead.
LEAD_MIN_WORDS = 6
#: The opening (the "Nội dung chính" button under a notification): at most this many
#: sentences of the first paragraph, and no more characters than OPENING_MAX_CHARS.
OPENING_MAX_SENTENCES = 4
OPENING_MAX_CHARS = 900
#: Most articles listed in one digest; a bulk import's others are counted, not listed.
DIGEST_MAX_ARTICLES = 30


def _prose(article: Article) -> list[Sentence]:
    """The article's sentences from its first real one: captions, the title repeated and
    lines of a few words before the first sentence (a date line, a byline, a place name)
    are skipped."""
    prose = [s for s in split_sentences(article) if not s.is_caption and s.text != article.title]
    while len(prose) > 1 and len(prose[0].text.split()) < LEAD_MIN_WORDS:
        prose.pop(0)
    return prose


def lead_of(article: Article) -> str:
    """The first sentence, or the first two when the first is short; verbatim (see :func:`_prose`)."""
    prose = _prose(article)
    chosen: list[Sentence] = []
    for sentence in prose:
        if chosen and (sentence.end - chosen[0].start > LEAD_MAX_CHARS or sentence.paragraph != chosen[0].paragraph):
            break
        chosen.append(sentence)
        if sentence.end - chosen[0].start >= LEAD_MIN_CHARS or len(chosen) == 2:
            break
    if not chosen:
        return ""
    return article.text[chosen[0].start : chosen[-1].end]


def opening_of(article: Article) -> tuple[int, int] | None:
    """Where the article's opening lies in its text, ``(start, end)``: the first paragraph's
    sentences (its sapo, usually), whole, up to :data:`OPENING_MAX_SENTENCES` and
    :data:`OPENING_MAX_CHARS`; None for an article without prose."""
    prose = _prose(article)
    if not prose:
        return None
    first = prose[0]
    end = first.end
    for sentence in prose[1:OPENING_MAX_SENTENCES]:
        if sentence.paragraph != first.paragraph or sentence.end - first.start > OPENING_MAX_CHARS:
            break
        end = sentence.end
    return first.start, end


def notice_for(article: Article) -> Notice:
    return Notice(
        article_id=article.id,
        title=article.title,
        url=article.url,
        published=article.published.isoformat() if article.published else None,
        source=article.source,
        lead=lead_of(article),
        summary_only=SUMMARY_ONLY_TAG in article.tags,
    )


def _article_block(notice: Notice, number: int | None) -> str:
    title = f"<b>{link(notice.title, notice.url)}</b>"
    lines = [f"{number}. {title}" if number is not None else title]
    where = ", ".join(escape(part) for part in (notice.source, format_date(notice.published)) if part)
    if where:
        lines.append(f"<i>{where}</i>")
    if notice.lead:
        lines.append(f"«{escape(notice.lead)}»")
    if notice.summary_only:
        lines.append(words.NOTICE_SUMMARY_ONLY.say())
    return "\n".join(lines)


@dataclass(frozen=True)
class DigestMessage:
    """What to send for ``article_ids``: usually one text; more only for an enormous article.
    The front end's buttons for its articles go under its last text (:mod:`notifications.sending`)."""

    texts: tuple[str, ...]
    article_ids: tuple[str, ...]


def digest_messages(notices: Sequence[Notice], limit: int = MESSAGE_LIMIT) -> list[DigestMessage]:
    """One message for one article; for several, numbered digests packed under ``limit``.

    Articles are never split between messages (so each message can be marked sent on its
    own), except an article too long for a message by itself, which gets several. Past
    :data:`DIGEST_MAX_ARTICLES` (a bulk import), the rest are counted in one closing line,
    not listed: they belong to the last message and are settled with it.
    """
    if not notices:
        return []
    listed, rest = notices[:DIGEST_MAX_ARTICLES], notices[DIGEST_MAX_ARTICLES:]
    messages = _digest(listed, len(notices), limit)
    if rest:
        last = messages[-1]
        more = words.NOTICE_MORE.say(count=len(rest))
        texts = (*last.texts[:-1], *split_html(f"{last.texts[-1]}\n\n{more}", limit))
        messages[-1] = DigestMessage(texts, (*last.article_ids, *(n.article_id for n in rest)))
    return messages


def _digest(notices: Sequence[Notice], total: int, limit: int) -> list[DigestMessage]:
    if len(notices) == 1:
        notice = notices[0]
        text = f"{words.NOTICE_ONE.say()}\n\n{_article_block(notice, None)}"
        return [DigestMessage(tuple(split_html(text, limit)), (notice.article_id,))]
    messages: list[DigestMessage] = []
    blocks: list[str] = []
    ids: list[str] = []

    def compose(header: str, body: Sequence[str]) -> str:
        return "\n\n".join([header, *body])

    header = words.NOTICE_MANY.say(count=total)
    for number, notice in enumerate(notices, 1):
        block = _article_block(notice, number)
        if blocks and utf16_len(compose(header, [*blocks, block])) > limit:
            full = compose(header, blocks)
            messages.append(DigestMessage(tuple(split_html(full, limit)), tuple(ids)))
            header, blocks, ids = words.NOTICE_CONTINUED.say(), [], []
        blocks.append(block)
        ids.append(notice.article_id)
    text = compose(header, blocks)
    messages.append(DigestMessage(tuple(split_html(text, limit)), tuple(ids)))
    return messages
