"""Turn answers, articles and statuses into Telegram HTML messages (Vietnamese).

Every piece of user or article text goes through :func:`markup.html.escape`; the only
markup in a message is the markup written here. Long messages are cut under Telegram's
limit by :func:`markup.html.split_html`.

    for chunk in split_html(format_answer(answer)):
        await bot.send_message(chat_id, chunk, parse_mode="HTML")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.failure_words import failure_words
from bot.keyboards import REASON_BUTTONS
from markup import catalogue as words
from markup.html import escape, format_date, link, shorten
from retrieval.models import Answer, Article, Citation

if TYPE_CHECKING:
    from news_pipeline.ingestion import IngestResult
    from retrieval.engine import IndexStatus
    from storage.records import FeedbackReason, FeedState, StoredVote

#: How much of a question is echoed above its answer.
QUESTION_ECHO_CHARS = 200
#: How much of a quote /feedback shows.
FEEDBACK_QUOTE_CHARS = 300

ASK_WHY_DISLIKED = words.ASK_WHY_DISLIKED.say()


def format_timestamp(iso: str) -> str:
    """ISO 8601 -> ``dd/mm/yyyy HH:MM UTC``; unparseable text is returned as it is."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%d/%m/%Y %H:%M UTC")


def source_line(title: str, url: str | None, source: str, published: str | datetime | None) -> str:
    """``Title (linked), Source, dd/mm/yyyy`` with the missing parts left out."""
    parts = [link(title, url)]
    parts += [escape(part) for part in (source, format_date(published)) if part]
    return ", ".join(parts)


def question_header(question: str) -> str:
    return f"🔎 <b>{escape(shorten(question, QUESTION_ECHO_CHARS))}</b>"


def _citation_block(number: int, citation: Citation, related: bool = False) -> str:
    """A quote, marked when it is a photo caption; its units' notes on one line under it
    ("Bắc Giang nay thuộc tỉnh Bắc Ninh; …"); then its source."""
    caption = f" <i>{escape(words.CAPTION.say())}</i>" if citation.is_caption else ""
    where = source_line(citation.title, citation.url, citation.source, citation.published)
    notes = f"\n<i>{escape('; '.join(citation.unit_notes))}</i>" if citation.unit_notes else ""
    if related or citation.less_related:  # only related: plain number, the sentence in italics, no «»
        return f"[{number}] <i>{escape(citation.sentence)}</i>{caption}{notes}\n— {where}"
    return f"<b>[{number}]</b> «{escape(citation.sentence)}»{caption}{notes}\n<i>— {where}</i>"


def _adds_to_quotes(answer: Answer) -> bool:
    """Whether the engine's answer text says more than its quotes (often it is just the
    quotes, numbered, and repeating them would double the message)."""
    rest = answer.answer
    for c in answer.citations:
        rest = rest.replace(c.sentence, " ")
    rest = re.sub(r"\[\d+\]", " ", rest)
    return any(ch.isalnum() for ch in rest)


def format_answer(answer: Answer, first_number: int = 1) -> str:
    """A found answer: the question, :data:`markup.catalogue.LOW_CONFIDENCE` when the engine is not
    sure (its quotes then in italics, without «»), the engine's short answer when it adds
    something the quotes do not already say, then each cited sentence verbatim, numbered from
    ``first_number``, followed by its article title (linked), source and date; the quotes
    less related than the answer's first ones (on "more results" pages) after
    :data:`markup.catalogue.LESS_RELATED`, in italics."""
    blocks = [question_header(answer.question)]
    related = answer.confidence == "low"
    if related:
        blocks.append(words.LOW_CONFIDENCE.say())
    if _adds_to_quotes(answer):
        blocks.append(escape(answer.answer.strip()))
    headed = False
    for i, c in enumerate(answer.citations):
        if c.less_related and not headed:
            blocks.append(escape(words.LESS_RELATED.say()))
            headed = True
        blocks.append(_citation_block(first_number + i, c, related))
    return "\n\n".join(blocks)


def format_not_found(question: str, latest: Sequence[Article], article_count: int | None) -> str:
    """Short and honest, with a hint of what the corpus does cover."""
    blocks = [question_header(question), words.not_found(article_count)]
    if latest:
        titles = "\n".join(f"• {source_line(a.title, a.url, '', a.published)}" for a in latest)
        blocks.append(words.NOT_FOUND_EXAMPLES.say(titles=titles))
    blocks.append(words.NOT_FOUND_HINT.say())
    return "\n\n".join(blocks)


def format_no_more(question: str) -> str:
    return f"{question_header(question)}\n\n{words.NO_MORE.say()}"


@dataclass(frozen=True)
class SourceParagraph:
    """A paragraph around one or more cited sentences, with their numbers in the answer."""

    numbers: tuple[int, ...]
    citation: Citation
    paragraph: str
    sentences: tuple[str, ...]


def _highlight(paragraph: str, sentences: Iterable[str]) -> str:
    """Escape ``paragraph`` and bold each cited sentence found in it."""
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        start = paragraph.find(sentence)
        if start >= 0 and sentence:
            spans.append((start, start + len(sentence)))
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        if start < cursor:  # overlapping quotes: the first one wins
            continue
        pieces += [escape(paragraph[cursor:start]), f"<b>{escape(paragraph[start:end])}</b>"]
        cursor = end
    pieces.append(escape(paragraph[cursor:]))
    return "".join(pieces)


def format_full_sources(question: str, paragraphs: Sequence[SourceParagraph]) -> str:
    """ "Nguồn đầy đủ": each cited sentence in bold inside its whole paragraph."""
    blocks = [question_header(question)]
    for item in paragraphs:
        numbers = ", ".join(str(n) for n in item.numbers)
        c = item.citation
        blocks.append(
            f"<b>[{numbers}]</b> <i>{source_line(c.title, c.url, c.source, c.published)}</i>\n"
            f"{_highlight(item.paragraph, item.sentences)}"
        )
    return "\n\n".join(blocks)


def format_sources(articles: Sequence[Article], article_count: int | None) -> str:
    if not articles:
        return words.ARCHIVE_EMPTY.say()
    header = words.SOURCES_HEADER.say(count=article_count)
    if article_count is None:
        header = words.SOURCES_HEADER_NO_COUNT.say()
    lines = [f"{i}. {source_line(a.title, a.url, a.source, a.published)}" for i, a in enumerate(articles, 1)]
    return header + "\n" + "\n".join(lines)


def format_latest(articles: Sequence[Article], article_count: int | None, *, capped_at: int | None = None) -> str:
    """``/latest``: one line per article, newest first: its date, its title (linked to the
    article when it has a URL) and its source; ``capped_at`` when the user asked for more
    than the bot lists."""
    if not articles:
        return words.ARCHIVE_EMPTY.say()
    header = words.LATEST_HEADER.say(shown=len(articles))
    if article_count is not None:
        header += words.LATEST_OF.say(count=article_count)
    lines = [header + ":"]
    for number, article in enumerate(articles, 1):
        parts = [format_date(article.published), link(article.title, article.url), escape(article.source)]
        lines.append(f"{number}. " + " — ".join(part for part in parts if part))
    if capped_at is not None:
        lines.append(words.LATEST_CAPPED.say(most=capped_at))
    return "\n".join(lines)


def example_questions(articles: Sequence[Article], limit: int = 3) -> list[str]:
    """Example questions drawn from the corpus: one per recent article title."""
    return [words.EXAMPLE_QUESTION.say(title=shorten(a.title, 90)) for a in articles[:limit]]


def format_help(examples: Sequence[str], *, greeting: bool = False) -> str:
    lines = [words.HELP_GREETING.say(), ""] if greeting else []
    lines.append(words.HELP.say())
    if examples:
        lines += ["", words.HELP_EXAMPLES.say()] + [f"• <code>/ask {escape(q)}</code>" for q in examples]
    lines += ["", words.HELP_BUTTONS.say()]
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1 giờ 2 phút``; under a minute in seconds."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return words.DAYS_HOURS.say(days=days, hours=hours)
    if hours:
        return words.HOURS_MINUTES.say(hours=hours, minutes=minutes)
    if minutes:
        return words.MINUTES_SECONDS.say(minutes=minutes, seconds=secs)
    return words.SECONDS.say(seconds=secs)


def format_status(status: IndexStatus, uptime_s: float, reindex_line: str | None) -> str:
    lines = [
        words.STATUS.say(
            articles=status.articles,
            passages=status.passages,
            sentences=status.sentences,
            model=escape(status.model),
            dimension=status.dimension,
            kind=escape(status.index_kind),
            size_mb=f"{status.index_bytes / 1_000_000:.1f}",
            built_at=escape(format_timestamp(status.built_at)),
            age=format_duration(status.age_seconds),
            version=escape(status.version),
            uptime=format_duration(uptime_s),
        )
    ]
    if reindex_line:
        lines.append(reindex_line)
    return "\n".join(lines)


def format_reindex_done(status: IndexStatus, elapsed_s: float) -> str:
    return words.REINDEX_DONE.say(
        elapsed=format_duration(elapsed_s),
        articles=status.articles,
        passages=status.passages,
        sentences=status.sentences,
    )


_CHANGE_LABELS = {"new": words.INGEST_NEW, "updated": words.INGEST_UPDATED, "unchanged": words.INGEST_UNCHANGED}
#: Most per-article lines in an ingest result (a JSONL file may hold thousands).
INGEST_RESULT_LINES = 30


def format_ingest_result(origin: str, result: IngestResult, language: str | None = None) -> str:
    """What an admin's ``/add`` or upload did, article by article, then the totals; each
    failure in words the admin can act on (:func:`bot.failure_words.failure_words`)."""
    lines = []
    for article_id, change in result.changes.items():
        title = result.titles.get(article_id)
        name = f"{escape(title)} (<code>{escape(article_id)}</code>)" if title else f"<code>{escape(article_id)}</code>"
        label = _CHANGE_LABELS[change].say(language) if change in _CHANGE_LABELS else escape(change)
        lines.append(f"{label}: {name}")
    lines += [
        words.INGEST_FAILED.say(what=escape(what), why=failure_words(reason, language))
        for what, reason in result.failures
    ]
    if len(lines) > INGEST_RESULT_LINES:
        more = words.INGEST_MORE_LINES.say(language, count=len(lines) - INGEST_RESULT_LINES)
        lines = [*lines[:INGEST_RESULT_LINES], more]
    if not lines:
        lines = [words.INGEST_NOTHING.say(language)]
    totals = words.INGEST_TOTALS.say(
        language,
        new=result.count("new"),
        updated=result.count("updated"),
        unchanged=result.count("unchanged"),
        failed=len(result.failures),
    )
    blocks = [words.INGEST_HEADER.say(language, origin=escape(shorten(origin, 200))), "\n".join(lines), totals]
    if result.count("new"):
        blocks.append(words.INGEST_ANNOUNCED.say(language))
    return "\n\n".join(blocks)


def format_notifications_status(
    subscribers: int,
    pending: int,
    feeds: Sequence[FeedState],
    watch_interval_s: float | None,
    watch_error: str | None,
) -> str:
    """The ``/status`` lines about subscriptions, the outbox, the watched folder and the feeds."""
    lines = [words.STATUS_SUBSCRIBERS.say(subscribers=subscribers, pending=pending)]
    if watch_interval_s is None:
        lines.append(words.STATUS_FOLDER_UNWATCHED.say())
    else:
        lines.append(words.STATUS_FOLDER_WATCHED.say(every=format_duration(watch_interval_s)))
        if watch_error:
            lines.append(words.STATUS_LAST_ERROR.say(error=escape(shorten(watch_error, 300))))
    if not feeds:
        lines.append(words.STATUS_NO_FEEDS.say())
    else:
        lines.append(words.STATUS_FEEDS.say(count=len(feeds)))
        for feed in feeds:
            never = words.STATUS_FEED_NEVER_READ.say()
            polled = escape(format_timestamp(feed.last_poll_at)) if feed.last_poll_at else never
            error = escape(shorten(feed.last_error, 200)) if feed.last_error else ""
            outcome = words.STATUS_FEED_ERROR.say(error=error) if feed.last_error else "OK"
            url = escape(shorten(feed.url, 120))
            lines.append(words.STATUS_FEED.say(url=url, polled=polled, outcome=outcome, added=feed.items_added))
    return "\n".join(lines)


def format_replica_status(replica: str, held: dict[str, bool]) -> str:
    """The ``/status`` line naming this replica and the singletons it runs (docs/deploy.md)."""
    mine = [name for name, ours in held.items() if ours]
    singletons = escape(", ".join(mine) or words.STATUS_NONE.say())
    return words.STATUS_REPLICA.say(replica=escape(replica), singletons=singletons)


STAGE_NAMES = {
    "model": words.STAGE_MODEL.say(),
    "embed": words.STAGE_EMBED.say(),
    "index": words.STAGE_INDEX.say(),
    "ingest": words.STAGE_INGEST.say(),
}


def format_progress(stage: str | None, done: int, total: int) -> str:
    if stage is None:
        return words.REINDEX_STARTED.say()
    name = STAGE_NAMES.get(stage, stage)
    share = f" {done}/{total}" if total else ""
    return words.REINDEX_PROGRESS.say(stage=escape(name), share=share)


def reason_words(reason: FeedbackReason | None) -> str:
    """A 👎's reason as a sentence says it: ``thông tin cũ``; ``không nêu lý do`` when none was given."""
    return REASON_BUTTONS[reason].lower() if reason is not None else words.REASON_NONE.say()


def format_reason_noted(reason: FeedbackReason) -> str:
    """What the reason question becomes once a reason is chosen."""
    return words.REASON_NOTED.say(reason=escape(reason_words(reason)))


def format_dislike_counts(counts: dict[FeedbackReason | None, int]) -> str:
    """``Góp ý 👎: 3 (sai trích dẫn 1, …, không nêu lý do 1)``, for /status and /feedback."""
    parts = ", ".join(f"{reason_words(reason)} {count}" for reason, count in counts.items())
    return words.DISLIKE_COUNTS.say(total=sum(counts.values()), parts=escape(parts))


def format_dislikes(dislikes: Sequence[StoredVote], counts: dict[FeedbackReason | None, int]) -> str:
    """``/feedback``: the latest 👎, newest first, each with its moment, reason, question and
    the first quote of the answer voted on."""
    if not dislikes:
        return words.NO_DISLIKES.say()
    blocks = [f"{words.DISLIKES_HEADER.say(count=len(dislikes))}\n{format_dislike_counts(counts)}"]
    for number, stored in enumerate(dislikes, 1):
        vote = stored.vote
        quote = (
            f"«{escape(shorten(vote.first_quote, FEEDBACK_QUOTE_CHARS))}»" if vote.first_quote else words.NO_QUOTE.say()
        )
        when, why = escape(format_timestamp(stored.voted_at)), escape(reason_words(vote.reason))
        question = escape(shorten(vote.question, QUESTION_ECHO_CHARS))
        blocks.append(words.DISLIKE.say(number=number, when=when, why=why, question=question, quote=quote))
    return "\n\n".join(blocks)
