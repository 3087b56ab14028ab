"""Feeds: a local news site serves an RSS feed and article pages; the bot polls it, indexes
the new items, announces them, and never adds the same item twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from retrieval.articles.corpus import read_corpus
from tests.bot_harness import ADMIN, BINH, GROUP, LAN, PRIVATE_ADMIN, WAIT_S
from tests.fake_site import FakeSite, Item, rss
from tests.newsroom import GROUP_2, Newsroom, page, presubscribe, run_job, sent_to, subscribe

VN = timezone(timedelta(hours=7))
LOGISTICS_TITLE = "Bắc Ninh và Lạng Sơn hợp tác phát triển logistics"
LOGISTICS_LEAD = (
    "Sáng 20.5, UBND tỉnh Bắc Ninh và UBND tỉnh Lạng Sơn ký kết chương trình hợp tác phát triển "
    "logistics giai đoạn 2024-2030."
)
TOURISM_TITLE = "Hải Phòng và Quảng Ninh liên kết phát triển du lịch biển"


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as running:
        running.put("/bai/logistics.html", page("bac-ninh-lang-son-logistics.html"))
        running.put("/bai/du-lich.html", page("hai-phong-quang-ninh-du-lich.html"))
        running.put("/rss", rss("Báo Bắc Ninh", []), "application/rss+xml")
        yield running


def logistics(site: FakeSite, link: str = "/bai/logistics.html") -> Item:
    return Item(
        LOGISTICS_TITLE,
        site.url(link),
        datetime(2024, 5, 20, 8, 30, tzinfo=VN),
        "<p>Bắc Ninh và Lạng Sơn ký kết chương trình hợp tác phát triển logistics.</p>",
    )


def tourism(site: FakeSite, link: str = "/bai/du-lich.html") -> Item:
    return Item(
        TOURISM_TITLE,
        site.url(link),
        datetime(2024, 6, 3, 15, 0, tzinfo=VN),
        "<p>Hai địa phương sẽ xây dựng tour du lịch kết nối <b>Cát Bà</b> với vịnh Hạ Long &amp; Tuần Châu.</p>"
        "<p>Các doanh nghiệp lữ hành dùng chung hệ thống đặt vé trực tuyến.</p>",
    )


async def test_a_new_feed_item_is_indexed_announced_in_each_group_and_answerable(
    newsroom: Newsroom, site: FakeSite
) -> None:
    async with newsroom.running(feeds=[site.url("/rss")]) as bot:
        await subscribe(bot, GROUP, LAN)
        await subscribe(bot, GROUP_2, BINH)
        site.put("/rss", rss("Báo Bắc Ninh", [logistics(site)]), "application/rss+xml")

        await run_job(bot, "poll-feeds")
        notices = [await bot.api.next_message(chat.id, WAIT_S) for chat in (GROUP, GROUP_2)]

        for notice in notices:
            assert f"{LOGISTICS_TITLE}\nBáo Bắc Ninh, 20/05/2024\n«{LOGISTICS_LEAD}»" in notice["text"]
            links = [e["url"] for e in notice["entities"] if e["type"] == "text_link"]
            assert links == [site.url("/bai/logistics.html")]
        bot.api.send_text(GROUP, LAN, "/ask Trung tâm logistics tại cửa khẩu Hữu Nghị có tổng vốn bao nhiêu?")
        answer = await bot.api.next_message(GROUP.id, WAIT_S)
        assert "3.000 tỷ đồng" in answer["text"] and LOGISTICS_TITLE in answer["text"]
        stored = [a for a in read_corpus(newsroom.corpus_dir).articles if a.title == LOGISTICS_TITLE]
        assert [a.url for a in stored] == [site.url("/bai/logistics.html")]


async def test_the_same_item_on_the_next_poll_adds_nothing_and_the_feed_is_fetched_conditionally(
    newsroom: Newsroom, site: FakeSite
) -> None:
    site.put("/rss", rss("Báo Bắc Ninh", [logistics(site)]), "application/rss+xml")
    presubscribe(newsroom, GROUP, LAN)
    async with newsroom.running(feeds=[site.url("/rss")]) as bot:
        await bot.api.next_message(GROUP.id, WAIT_S)  # the first poll, as the bot starts

        first_etag = site.resources["/rss"].etag
        await run_job(bot, "poll-feeds")  # unchanged feed: 304
        site.put("/rss", rss("Báo Bắc Ninh - Kinh tế", [logistics(site)]), "application/rss+xml")
        await run_job(bot, "poll-feeds")  # changed feed, same item: nothing new
        await bot.deps.notifier.deliver(bot.application.bot)

        feed_requests = site.requests_to("/rss")
        assert [status for status, _ in feed_requests] == [200, 304, 200]
        assert "if-none-match" not in feed_requests[0][1]
        assert feed_requests[1][1]["if-none-match"] == first_etag
        assert feed_requests[1][1]["if-modified-since"] == "Mon, 20 May 2024 01:30:00 GMT"
        assert len(site.requests_to("/bai/logistics.html")) == 1
        assert len(sent_to(bot.api, GROUP.id)) == 1
        assert bot.engine.status().articles == 2


async def test_the_same_article_under_another_link_is_not_added_twice(newsroom: Newsroom, site: FakeSite) -> None:
    site.put("/bai/logistics-copy.html", page("bac-ninh-lang-son-logistics.html"))
    async with newsroom.running(feeds=[site.url("/rss")]) as bot:
        await subscribe(bot, GROUP, LAN)
        site.put("/rss", rss("Báo Bắc Ninh", [logistics(site)]), "application/rss+xml")
        await run_job(bot, "poll-feeds")
        await bot.api.next_message(GROUP.id, WAIT_S)

        copy = logistics(site, "/bai/logistics-copy.html")
        site.put("/rss", rss("Báo Bắc Ninh", [copy, logistics(site)]), "application/rss+xml")
        await run_job(bot, "poll-feeds")
        await bot.deps.notifier.deliver(bot.application.bot)

        assert len(sent_to(bot.api, GROUP.id)) == 2  # the /subscribe reply and one notification
        assert bot.engine.status().articles == 2


async def test_a_malformed_or_unreachable_feed_is_logged_and_the_others_go_on(
    newsroom: Newsroom, site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.feed_poll")
    site.put("/hong.xml", b"<rss><channel><title>Tin</title><item><title>Thi\xe1\xba\xbfu", "application/rss+xml")
    site.put("/rss", rss("Báo Hải Phòng", [tourism(site)]), "application/rss+xml")
    unreachable = "http://127.0.0.1:9/rss"  # the discard port: nothing listens there
    presubscribe(newsroom, GROUP, LAN)
    feeds = [site.url("/hong.xml"), unreachable, site.url("/khong-co.xml"), site.url("/rss")]

    async with newsroom.running(feeds=feeds) as bot:
        notice = await bot.api.next_message(GROUP.id, WAIT_S)  # from the poll as the bot starts
        await run_job(bot, "poll-feeds")  # after that poll: again, the bad ones fail, the good one is 304
        status = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")

    assert TOURISM_TITLE in notice["text"]
    for url in feeds[:3]:
        assert url in caplog.text
    text = status["text"]
    assert "Nguồn RSS/Atom (4):" in text
    assert "XML hỏng" in text and "không kết nối được" in text and "HTTP 404" in text
    assert f"{site.url('/rss')} — lần đọc cuối" in text and "OK, đã thêm 1 bài" in text


async def test_a_feed_on_a_private_address_is_refused_recorded_and_the_others_go_on(
    newsroom: Newsroom, site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="news_pipeline.feed_poll")
    site.put("/rss", rss("Báo Hải Phòng", [tourism(site)]), "application/rss+xml")
    site.redirect("/rss-cu", "http://10.0.0.5/rss")
    feeds = [site.url("/rss-cu"), "http://169.254.169.254/latest/meta-data/", site.url("/rss")]
    presubscribe(newsroom, GROUP, LAN)

    async with newsroom.running(feeds=feeds) as bot:
        notice = await bot.api.next_message(GROUP.id, WAIT_S)  # from the poll as the bot starts
        await run_job(bot, "poll-feeds")  # after that poll: the refused ones are refused again
        status = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")

    assert TOURISM_TITLE in notice["text"]
    refusals = [r.getMessage() for r in caplog.records if "từ chối tải" in r.getMessage()]
    assert len(refusals) == 4 and all("HOPTAC_FETCH_ALLOWED_HOSTS" in line for line in refusals)
    assert "10.0.0.5 là địa chỉ mạng riêng" in status["text"]
    assert "169.254.169.254 là địa chỉ link-local" in status["text"]
    assert f"{site.url('/rss')} — lần đọc cuối" in status["text"] and "OK, đã thêm 1 bài" in status["text"]


async def test_an_item_whose_page_cannot_be_fetched_uses_the_feed_summary_marked_as_such(
    newsroom: Newsroom, site: FakeSite
) -> None:
    async with newsroom.running(feeds=[site.url("/rss")]) as bot:
        await subscribe(bot, GROUP, LAN)
        site.put("/rss", rss("Báo Hải Phòng", [tourism(site, "/bai/da-go.html")]), "application/rss+xml")
        await run_job(bot, "poll-feeds")
        notice = await bot.api.next_message(GROUP.id, WAIT_S)

    assert "chỉ có phần tóm tắt" in notice["text"]
    # The summary's markup is gone and its entity decoded once, then escaped once for Telegram.
    assert "«Hai địa phương sẽ xây dựng tour du lịch kết nối Cát Bà với vịnh Hạ Long & Tuần Châu.»" in notice["text"]
    [stored] = [a for a in read_corpus(newsroom.corpus_dir).articles if a.title == TOURISM_TITLE]
    assert stored.tags == ("summary-only",)
    assert stored.source == "Báo Hải Phòng" and stored.url == site.url("/bai/da-go.html")
    assert stored.text.split("\n\n") == [
        "Hai địa phương sẽ xây dựng tour du lịch kết nối Cát Bà với vịnh Hạ Long & Tuần Châu.",
        "Các doanh nghiệp lữ hành dùng chung hệ thống đặt vé trực tuyến.",
    ]
