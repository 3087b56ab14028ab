"""The notification text, without a bot: leads and digests. (The outbox's exactly-once
bookkeeping is in the state store's contract suite, tests/test_state_store.py, on both backends.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.testing.telegram_html import parse_html, utf16_len
from notifications.digest import digest_messages, lead_of, notice_for
from retrieval.models import Article
from storage.records import Notice
from tests.bot_harness import ARTICLE, MOU

VN = timezone(timedelta(hours=7))


def notice(number: int, lead: str = "Hai tỉnh ký kết biên bản ghi nhớ hợp tác.") -> Notice:
    return Notice(f"bai-{number}", f"Bài số {number} về hợp tác <vùng> & liên kết", None, None, "Báo A", lead)


def test_the_lead_is_the_first_sentences_verbatim() -> None:
    assert lead_of(ARTICLE) == ARTICLE.text[: len(lead_of(ARTICLE))]
    dated = Article(
        id="a",
        title="Tiêu đề",
        published=None,
        source="",
        text=f"Thứ Hai, 20/05/2024 08:30\n\n> Ảnh: hai tỉnh ký kết.\n\n{MOU} Câu thứ hai.",
    )
    assert lead_of(dated) == MOU


def test_one_article_makes_one_escaped_message_with_its_lead() -> None:
    article = Article(
        id="a",
        title="Hợp tác <Bắc> & <Nam>",
        published=datetime(2024, 5, 20, 8, 30, tzinfo=VN),
        source="Báo A&B",
        text="Hai tỉnh ký kết chương trình hợp tác <giai đoạn> 2024-2030 & hơn thế nữa.",
        url="https://example.org/a?x=1&y=2",
    )
    [message] = digest_messages([notice_for(article)])
    [text] = message.texts
    plain, entities = parse_html(text)

    assert message.article_ids == ("a",)
    assert "Hợp tác <Bắc> & <Nam>\nBáo A&B, 20/05/2024\n«Hai tỉnh ký kết chương trình hợp tác <giai đoạn>" in plain
    assert "/ask" not in plain  # the bot's "Nội dung chính" button (bot.opening) answers better
    assert {"type": "text_link", "url": "https://example.org/a?x=1&y=2"}.items() <= next(
        e for e in entities if e["type"] == "text_link"
    ).items()


def test_a_long_digest_is_split_between_articles_under_the_limit() -> None:
    notices = [notice(n, lead="Câu dẫn rất dài về hợp tác phát triển kinh tế vùng. " * 8) for n in range(1, 41)]

    messages = digest_messages(notices)

    assert len(messages) > 1
    assert [a for m in messages for a in m.article_ids] == [n.article_id for n in notices]
    for message in messages:
        [text] = message.texts
        assert utf16_len(parse_html(text)[0]) <= 4096 and utf16_len(text) <= 4096
    assert messages[0].texts[0].startswith("🆕 <b>40 bài mới trong kho tin</b>")
    assert messages[1].texts[0].startswith("🆕 <b>Bài mới (tiếp)</b>")


def test_a_bulk_import_lists_the_first_articles_and_counts_the_rest() -> None:
    notices = [notice(n) for n in range(1, 1001)]

    messages = digest_messages(notices)

    assert messages[0].texts[0].startswith("🆕 <b>1000 bài mới trong kho tin</b>")
    assert messages[-1].texts[-1].endswith("… và 970 bài mới khác; xem các bài mới nhất bằng /sources.")
    assert [a for m in messages for a in m.article_ids] == [n.article_id for n in notices]
    assert sum(len(m.texts) for m in messages) <= 5
