"""Properties of the feed parser (hypothesis): any bytes give a feed or a one-line FeedError,
and a well-formed RSS or Atom feed gives back every item it holds."""

from __future__ import annotations

import html
import unicodedata
from xml.sax.saxutils import escape, quoteattr

from hypothesis import given
from hypothesis import strategies as st

from news_pipeline.feeds import FeedError, html_to_text, parse_feed
from tests.properties import fast, is_one_line, vietnamese_text


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot hold at all."""
    return "".join(
        c for c in text if c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) > 0xFFFF
    )


def parses_or_refuses(data: bytes) -> None:
    try:
        feed = parse_feed(data)
    except FeedError as exc:
        assert is_one_line(str(exc))
        return
    for item in feed.items:
        assert item.key
        assert item.published is None or item.published.utcoffset() is not None


@fast(200)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_feed_or_a_one_line_error(data: bytes) -> None:
    parses_or_refuses(data)


_TEXT = vietnamese_text(120).map(_xml_safe)
_ENTITIES = st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&#7857;", "&#x1EA1;", "&amp;amp;", "&nbsp;", "&#0;"])
_DATES = st.sampled_from(
    ["Mon, 15 Jan 2024 09:00:00 +0700", "2024-05-20T01:30:00Z", "15/01/2024", "", "Mon, 99 Jan 2024", "2024-13-01"]
) | st.text(max_size=30).map(_xml_safe)


@st.composite
def _fragment(draw: st.DrawFn) -> str:
    """Element text: escaped text, entities (some unknown), or HTML in CDATA."""
    kind = draw(st.integers(0, 3))
    text = draw(_TEXT)
    if kind == 0:
        return escape(text)
    if kind == 1:
        return escape(text) + draw(_ENTITIES) + escape(draw(_TEXT))
    if kind == 2:
        return "<![CDATA[<p>" + text.replace("]]>", "") + "</p><script>x()</script>]]>"
    return escape(f"<p>{text}</p><br>{html.escape(draw(_TEXT))}")


@st.composite
def feeds(draw: st.DrawFn) -> tuple[bytes, int]:
    """An RSS 2.0, RSS 1.0 or Atom document with random items, and how many items it has."""
    kind = draw(st.sampled_from(["rss", "rdf", "atom"]))
    items = []
    for _ in range(count := draw(st.integers(0, 5))):
        title, summary, date = draw(_fragment()), draw(_fragment()), escape(draw(_DATES))
        link = escape(draw(st.sampled_from(["https://baohaiduong.example/bai.html", "", "not a url"])))
        if kind == "atom":
            items.append(
                f"<entry><title>{title}</title><link href={quoteattr(link)}/><id>{link}</id>"
                f"<updated>{date}</updated><summary type='html'>{summary}</summary></entry>"
            )
        else:
            items.append(
                f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                f"<pubDate>{date}</pubDate><description>{summary}</description></item>"
            )
    body = "".join(items)
    channel = f"<title>{draw(_fragment())}</title>"
    document = {
        "rss": f"<rss version='2.0'><channel>{channel}{body}</channel></rss>",
        "rdf": "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns='http://purl.org/rss/1.0/'>"
        f"<channel>{channel}</channel>{body}</rdf:RDF>",
        "atom": f"<feed xmlns='http://www.w3.org/2005/Atom'>{channel}{body}</feed>",
    }[kind]
    declaration = draw(st.sampled_from(["", "<?xml version='1.0' encoding='UTF-8'?>\n", "\ufeff"]))
    return (declaration + document).encode("utf-8"), count


@fast(150)
@given(feeds())
def test_a_feed_gives_every_item_or_a_one_line_error(feed_and_count: tuple[bytes, int]) -> None:
    data, count = feed_and_count
    try:
        feed = parse_feed(data)
    except FeedError as exc:  # an unknown entity such as &nbsp; is not XML
        assert is_one_line(str(exc))
        return
    assert len(feed.items) == count
    for item in feed.items:
        assert "\n" not in item.title
        assert item.published is None or item.published.utcoffset() is not None


@fast(100)
@given(feeds(), st.integers(0, 200), st.binary(max_size=20))
def test_a_damaged_feed_gives_a_feed_or_a_one_line_error(
    feed_and_count: tuple[bytes, int], cut: int, junk: bytes
) -> None:
    data, _ = feed_and_count
    parses_or_refuses(data[:cut] + junk + data[cut:])


@fast(50)
@given(feeds(), st.sampled_from(["<!DOCTYPE rss>", '<!DOCTYPE r [<!ENTITY x "y">]>', "<!DOCTYPE feed SYSTEM 'x'>"]))
def test_a_feed_with_a_doctype_is_always_refused(feed_and_count: tuple[bytes, int], doctype: str) -> None:
    data, _ = feed_and_count
    start = data.find(b"<rss") if b"<rss" in data else data.find(b"<rdf") if b"<rdf" in data else data.find(b"<feed")
    try:
        parse_feed(data[:start] + doctype.encode() + data[start:])
    except FeedError as exc:
        assert is_one_line(str(exc))
    else:
        raise AssertionError("a DOCTYPE was parsed")


@fast(150)
@given(st.text(max_size=300) | vietnamese_text(300).map(lambda s: f"<p>{s}</p><div>{s}<br/>"))
def test_any_summary_markup_gives_plain_nfc_lines(markup: str) -> None:
    text = html_to_text(markup)
    assert unicodedata.is_normalized("NFC", text)
    assert all(line == " ".join(line.split()) and line for line in text.split("\n")) or text == ""
