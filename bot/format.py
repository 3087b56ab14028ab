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

from bot.keyboards import REASON_BUTTONS
from markup.html import escape, format_date, link, shorten
from retrieval.answering.confidence import LOW_CONFIDENCE_MESSAGE
from retrieval.models import Answer, Article, Citation

if TYPE_CHECKING:
    from news_pipeline.ingestion import IngestResult
    from retrieval.engine import IndexStatus
    from storage.records import FeedbackReason, FeedState, StoredVote

#: How much of a question is echoed above its answer.
QUESTION_ECHO_CHARS = 200
#: How much of a quote /feedback shows.
FEEDBACK_QUOTE_CHARS = 300

ASK_WHY_DISLIKED = "👎 Cảm ơn bạn đã góp ý. Câu trả lời chưa tốt vì sao? (không bắt buộc)"

#: Above a further page's quotes that score below the answer's first ones (``Citation.less_related``).
LESS_RELATED_HEADING = "Ít liên quan hơn:"
LESS_RELATED_HEADING_EN = "Less related:"
#: After a quote that is a photo caption (``Citation.is_caption``).
CAPTION_MARK = "(chú thích ảnh)"
CAPTION_MARK_EN = "(photo caption)"


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
    caption = f" <i>{escape(CAPTION_MARK)}</i>" if citation.is_caption else ""
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
    """A found answer: the question, :data:`LOW_CONFIDENCE_MESSAGE` when the engine is not
    sure (its quotes then in italics, without «»), the engine's short answer when it adds
    something the quotes do not already say, then each cited sentence verbatim, numbered from
    ``first_number``, followed by its article title (linked), source and date; the quotes
    less related than the answer's first ones (on "more results" pages) after
    :data:`LESS_RELATED_HEADING`, in italics."""
    blocks = [question_header(answer.question)]
    related = answer.confidence == "low"
    if related:
        blocks.append(LOW_CONFIDENCE_MESSAGE)
    if _adds_to_quotes(answer):
        blocks.append(escape(answer.answer.strip()))
    headed = False
    for i, c in enumerate(answer.citations):
        if c.less_related and not headed:
            blocks.append(escape(LESS_RELATED_HEADING))
            headed = True
        blocks.append(_citation_block(first_number + i, c, related))
    return "\n\n".join(blocks)


def format_not_found(question: str, latest: Sequence[Article], article_count: int | None) -> str:
    """Short and honest, with a hint of what the corpus does cover."""
    where = f"trong {article_count} bài báo đã lập chỉ mục" if article_count else "trong kho tin"
    blocks = [
        question_header(question),
        f"Chưa tìm thấy câu trả lời có căn cứ {where}.",
    ]
    if latest:
        titles = "\n".join(f"• {source_line(a.title, a.url, '', a.published)}" for a in latest)
        blocks.append(f"Kho tin gồm các bài như:\n{titles}")
    blocks.append("Gợi ý: hỏi cụ thể hơn — nêu tên địa phương, dự án hoặc lĩnh vực hợp tác.")
    return "\n\n".join(blocks)


def format_no_more(question: str) -> str:
    return f"{question_header(question)}\n\nKhông còn kết quả nào khác cho câu hỏi này."


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
        return "Kho tin chưa có bài nào. Quản trị viên có thể nạp bài bằng <code>hoptac ingest</code>."
    header = f"📚 <b>Các bài mới nhất</b> (trong {article_count} bài đã lập chỉ mục):"
    if article_count is None:
        header = "📚 <b>Các bài mới nhất:</b>"
    lines = [f"{i}. {source_line(a.title, a.url, a.source, a.published)}" for i, a in enumerate(articles, 1)]
    return header + "\n" + "\n".join(lines)


def format_latest(articles: Sequence[Article], article_count: int | None, *, capped_at: int | None = None) -> str:
    """``/latest``: one line per article, newest first: its date, its title (linked to the
    article when it has a URL) and its source; ``capped_at`` when the user asked for more
    than the bot lists."""
    if not articles:
        return "Kho tin chưa có bài nào. Quản trị viên có thể nạp bài bằng <code>hoptac ingest</code>."
    header = f"🗞 <b>{len(articles)} bài mới nhất</b>"
    if article_count is not None:
        header += f" (trong {article_count} bài của kho tin)"
    lines = [header + ":"]
    for number, article in enumerate(articles, 1):
        parts = [format_date(article.published), link(article.title, article.url), escape(article.source)]
        lines.append(f"{number}. " + " — ".join(part for part in parts if part))
    if capped_at is not None:
        lines.append(f"<i>Mỗi lần xem được tối đa {capped_at} bài.</i>")
    return "\n".join(lines)


def example_questions(articles: Sequence[Article], limit: int = 3) -> list[str]:
    """Example questions drawn from the corpus: one per recent article title."""
    return [f"Nội dung chính của “{shorten(a.title, 90)}” là gì?" for a in articles[:limit]]


def format_help(examples: Sequence[str], *, greeting: bool = False) -> str:
    lines = []
    if greeting:
        lines.append(
            "👋 Xin chào! Tôi trả lời câu hỏi về tin tức hợp tác giữa các địa phương, "
            "và luôn trích nguyên văn câu trong bài báo làm bằng chứng."
        )
        lines.append("")
    lines += [
        "<b>Cách hỏi</b>",
        "• Trong chat riêng: gõ câu hỏi bất kỳ.",
        "• Trong nhóm: <code>/ask câu hỏi</code>, nhắc tên bot (@...) hoặc trả lời một tin của bot.",
        "",
        "<b>Lệnh</b>",
        "/ask — đặt câu hỏi",
        "/latest — các bài mới nhất (<code>/latest 10</code>: 10 bài)",
        "/sources — các bài mới nhất trong kho tin",
        "/subscribe — nhận thông báo khi có bài mới (trong nhóm: quản trị viên nhóm bật)",
        "/unsubscribe — thôi nhận thông báo",
        "/help — hướng dẫn này",
    ]
    if examples:
        lines += ["", "<b>Ví dụ</b>"] + [f"• <code>/ask {escape(q)}</code>" for q in examples]
    lines += [
        "",
        "Dưới mỗi câu trả lời: «Nguồn đầy đủ» xem cả đoạn văn, «Thêm kết quả» xem tiếp, 👍/👎 góp ý.",
    ]
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1 giờ 2 phút``; under a minute in seconds."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ"
    if hours:
        return f"{hours} giờ {minutes} phút"
    if minutes:
        return f"{minutes} phút {secs} giây"
    return f"{secs} giây"


def format_status(status: IndexStatus, uptime_s: float, reindex_line: str | None) -> str:
    size_mb = status.index_bytes / 1_000_000
    lines = [
        "📊 <b>Trạng thái</b>",
        f"Bài báo: {status.articles}",
        f"Đoạn (passage): {status.passages}",
        f"Câu: {status.sentences}",
        f"Mô hình: <code>{escape(status.model)}</code> ({status.dimension} chiều)",
        f"Chỉ mục: {escape(status.index_kind)}, {size_mb:.1f} MB, dựng lúc {escape(format_timestamp(status.built_at))} "
        f"({format_duration(status.age_seconds)} trước)",
        f"Phiên bản: {escape(status.version)}",
        f"Bot chạy được: {format_duration(uptime_s)}",
    ]
    if reindex_line:
        lines.append(reindex_line)
    return "\n".join(lines)


def format_reindex_done(status: IndexStatus, elapsed_s: float) -> str:
    return (
        f"✅ <b>Đã lập chỉ mục lại</b> sau {format_duration(elapsed_s)}: {status.articles} bài, "
        f"{status.passages} đoạn, {status.sentences} câu. Câu hỏi mới dùng chỉ mục mới."
    )


_CHANGE_LABELS = {"new": "🆕 mới", "updated": "♻️ cập nhật", "unchanged": "➖ không đổi"}
#: Most per-article lines in an ingest result (a JSONL file may hold thousands).
INGEST_RESULT_LINES = 30


def format_ingest_result(origin: str, result: IngestResult) -> str:
    """What an admin's ``/add`` or upload did, article by article, then the totals."""
    lines = []
    for article_id, change in result.changes.items():
        title = result.titles.get(article_id)
        name = f"{escape(title)} (<code>{escape(article_id)}</code>)" if title else f"<code>{escape(article_id)}</code>"
        lines.append(f"{_CHANGE_LABELS.get(change, escape(change))}: {name}")
    lines += [f"❌ lỗi: {escape(what)}: {escape(reason)}" for what, reason in result.failures]
    if len(lines) > INGEST_RESULT_LINES:
        lines = [*lines[:INGEST_RESULT_LINES], f"… và {len(lines) - INGEST_RESULT_LINES} dòng nữa."]
    if not lines:
        lines = ["Không tìm thấy bài nào."]
    totals = (
        f"Tổng: {result.count('new')} mới, {result.count('updated')} cập nhật, "
        f"{result.count('unchanged')} không đổi, {len(result.failures)} lỗi."
    )
    blocks = [f"📥 <b>Kết quả nạp</b>: {escape(shorten(origin, 200))}", "\n".join(lines), totals]
    if result.count("new"):
        blocks.append("Bài mới đã vào chỉ mục; các nhóm đã đăng ký sẽ được thông báo.")
    return "\n\n".join(blocks)


def format_notifications_status(
    subscribers: int,
    pending: int,
    feeds: Sequence[FeedState],
    watch_interval_s: float | None,
    watch_error: str | None,
) -> str:
    """The ``/status`` lines about subscriptions, the outbox, the watched folder and the feeds."""
    lines = [f"Thông báo: {subscribers} nơi đăng ký, {pending} tin chờ gửi"]
    if watch_interval_s is None:
        lines.append("Thư mục bài: không theo dõi")
    else:
        lines.append(f"Thư mục bài: kiểm tra mỗi {format_duration(watch_interval_s)}")
        if watch_error:
            lines.append(f"  ⚠️ lỗi gần nhất: {escape(shorten(watch_error, 300))}")
    if not feeds:
        lines.append("Nguồn RSS/Atom: chưa cấu hình")
    else:
        lines.append(f"Nguồn RSS/Atom ({len(feeds)}):")
        for feed in feeds:
            polled = escape(format_timestamp(feed.last_poll_at)) if feed.last_poll_at else "chưa đọc"
            outcome = f"⚠️ lỗi: {escape(shorten(feed.last_error, 200))}" if feed.last_error else "OK"
            lines.append(
                f"• {escape(shorten(feed.url, 120))} — lần đọc cuối {polled}, {outcome}, đã thêm {feed.items_added} bài"
            )
    return "\n".join(lines)


def format_replica_status(replica: str, held: dict[str, bool]) -> str:
    """The ``/status`` line naming this replica and the singletons it runs (docs/deploy.md)."""
    mine = [name for name, ours in held.items() if ours]
    return f"Bản sao (replica): <code>{escape(replica)}</code>, chạy một nơi: {escape(', '.join(mine) or 'không')}"


STAGE_NAMES = {"model": "tải mô hình", "embed": "mã hoá câu", "index": "dựng chỉ mục", "ingest": "nạp bài"}


def format_progress(stage: str | None, done: int, total: int) -> str:
    if stage is None:
        return "⏳ Đang lập chỉ mục lại… Câu hỏi vẫn được trả lời từ chỉ mục cũ."
    name = STAGE_NAMES.get(stage, stage)
    share = f" {done}/{total}" if total else ""
    return f"⏳ Đang lập chỉ mục lại: {escape(name)}{share}. Câu hỏi vẫn được trả lời từ chỉ mục cũ."


def reason_words(reason: FeedbackReason | None) -> str:
    """A 👎's reason as a sentence says it: ``thông tin cũ``; ``không nêu lý do`` when none was given."""
    return REASON_BUTTONS[reason].lower() if reason is not None else "không nêu lý do"


def format_reason_noted(reason: FeedbackReason) -> str:
    """What the reason question becomes once a reason is chosen."""
    return f"👎 Cảm ơn bạn! Đã ghi nhận lý do: <b>{escape(reason_words(reason))}</b>."


def format_dislike_counts(counts: dict[FeedbackReason | None, int]) -> str:
    """``Góp ý 👎: 3 (sai trích dẫn 1, …, không nêu lý do 1)``, for /status and /feedback."""
    parts = ", ".join(f"{reason_words(reason)} {count}" for reason, count in counts.items())
    return f"Góp ý 👎: {sum(counts.values())} ({escape(parts)})"


def format_dislikes(dislikes: Sequence[StoredVote], counts: dict[FeedbackReason | None, int]) -> str:
    """``/feedback``: the latest 👎, newest first, each with its moment, reason, question and
    the first quote of the answer voted on."""
    if not dislikes:
        return "Chưa có góp ý 👎 nào."
    blocks = [f"👎 <b>{len(dislikes)} góp ý chưa hài lòng gần nhất</b>\n{format_dislike_counts(counts)}"]
    for number, stored in enumerate(dislikes, 1):
        vote = stored.vote
        quote = (
            f"«{escape(shorten(vote.first_quote, FEEDBACK_QUOTE_CHARS))}»"
            if vote.first_quote
            else "(không có trích dẫn)"
        )
        when, why = escape(format_timestamp(stored.voted_at)), escape(reason_words(vote.reason))
        blocks.append(
            f"{number}. {when} — lý do: <b>{why}</b>\n🔎 {escape(shorten(vote.question, QUESTION_ECHO_CHARS))}\n{quote}"
        )
    return "\n\n".join(blocks)
