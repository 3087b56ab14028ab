"""Feeds parsed with the standard library: RSS 2.0, Atom, and hostile XML refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from hoptac.settings import Settings
from news_pipeline.feeds import FeedError, html_to_text, parse_feed

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Báo Bắc Giang - Hợp tác</title>
<item>
  <title>Bắc Giang và Hải Dương khởi công cầu Đồng Việt</title>
  <link>https://baobacgiang.example/cau-dong-viet.html</link>
  <guid isPermaLink="false">bg-2024-01</guid>
  <pubDate>Mon, 15 Jan 2024 09:00:00 +0700</pubDate>
  <description><![CDATA[<p>Sáng 15.1, hai tỉnh khởi công <b>cầu Đồng Việt</b>.</p>
    <p>Cầu dài 1,2 km &amp; rộng 17 m.</p>]]></description>
</item>
<item><title>Tin không có đường dẫn</title><guid>https://baobacgiang.example/tin-2.html</guid>
  <description>Chỉ có tóm tắt.</description></item>
</channel></rss>""".encode()

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Cổng thông tin Lạng Sơn</title>
<entry><title type="html">Lạng Sơn &amp; Bắc Ninh ký kết hợp tác</title>
  <link rel="alternate" href="https://langson.example/hop-tac.html"/>
  <link rel="enclosure" href="https://langson.example/anh.jpg"/>
  <id>tag:langson.example,2024:1</id><updated>2024-05-20T01:30:00Z</updated>
  <summary type="html">&lt;p&gt;Hai tỉnh ký kết chương trình hợp tác.&lt;/p&gt;</summary></entry>
</feed>""".encode()


def test_rss_items_with_links_dates_and_plain_text_summaries() -> None:
    feed = parse_feed(RSS)

    assert feed.title == "Báo Bắc Giang - Hợp tác"
    first, second = feed.items
    assert first.title == "Bắc Giang và Hải Dương khởi công cầu Đồng Việt"
    assert first.link == "https://baobacgiang.example/cau-dong-viet.html" and first.guid == "bg-2024-01"
    assert first.published == datetime(2024, 1, 15, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    assert first.summary == "Sáng 15.1, hai tỉnh khởi công cầu Đồng Việt.\nCầu dài 1,2 km & rộng 17 m."
    assert second.link == "https://baobacgiang.example/tin-2.html"  # a permalink guid is the link
    assert second.key == second.link


def test_atom_entries() -> None:
    [entry] = parse_feed(ATOM).items

    assert entry.title == "Lạng Sơn & Bắc Ninh ký kết hợp tác"
    assert entry.link == "https://langson.example/hop-tac.html"
    assert entry.published == datetime(2024, 5, 20, 1, 30, tzinfo=UTC)
    assert entry.summary == "Hai tỉnh ký kết chương trình hợp tác."


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><rss>&b;</rss>', "DOCTYPE"),
        (b'<!DOCTYPE rss SYSTEM "http://example.org/evil.dtd"><rss/>', "DOCTYPE"),
        (b"<rss><channel><item></rss>", "XML hỏng"),
        (b"", "XML hỏng"),
        (b"<html><body>404</body></html>", "không phải RSS hay Atom"),
    ],
)
def test_hostile_or_broken_xml_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse_feed(data)


def test_summaries_lose_markup_scripts_and_entities() -> None:
    assert html_to_text("<div>Một<br>hai</div><script>alert(1)</script><p>ba &lt;bốn&gt;</p>") == "Một\nhai\nba <bốn>"


@pytest.mark.parametrize(
    "value",
    [
        "https://baobacninh.example/rss, https://langson.example/atom.xml",
        '["https://baobacninh.example/rss", "https://langson.example/atom.xml"]',
    ],
)
def test_the_feeds_setting_takes_a_comma_list_or_a_json_list(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HOPTAC_FEEDS", value)

    assert Settings(_env_file=None).feeds == ["https://baobacninh.example/rss", "https://langson.example/atom.xml"]  # type: ignore[call-arg]


def test_a_feed_that_is_not_a_web_address_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPTAC_FEEDS", "baobacninh.example/rss")

    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(_env_file=None)  # type: ignore[call-arg]
