"""RSS 2.0 and Atom feeds (RSS 1.0 too), parsed with the standard library.

    feed = parse_feed(data)          # FeedError for anything that is not a feed
    for item in feed.items:
        item.link, item.title, item.published, item.summary

A feed is untrusted input: a document with a DOCTYPE is refused before parsing, so no
entity can expand ("billion laughs") and nothing external is ever loaded. Summaries are
HTML in most feeds; they are turned into plain text paragraphs, one per line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from xml.etree import ElementTree
from xml.parsers import expat

from retrieval.articles.corpus import parse_published
from retrieval.vietnamese.text import nfc

ATOM = "http://www.w3.org/2005/Atom"


class FeedError(ValueError):
    """Not a feed this module can read; ``str()`` is one line."""


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str | None  # the article page
    guid: str | None  # the feed's own id for the item, when it gives one
    published: datetime | None  # timezone-aware
    summary: str  # plain text, paragraphs separated by "\n"

    @property
    def key(self) -> str:
        """What identifies the item across polls: its link, else its id, else its title."""
        return self.link or self.guid or f"title:{self.title}"


@dataclass(frozen=True)
class Feed:
    title: str
    items: list[FeedItem]


class _TextExtractor(HTMLParser):
    """Text of an HTML fragment, one paragraph per block element; scripts and styles dropped."""

    _BLOCKS = frozenset("p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table section article figcaption".split())
    _SKIP = frozenset(("script", "style"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment (or of plain text): paragraphs on their own lines."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).split("\n"))
    return nfc("\n".join(line for line in lines if line))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element, *names: str) -> ElementTree.Element | None:
    for child in element:
        if _local(child.tag) in names:
            return child
    return None


def _text(element: ElementTree.Element, *names: str) -> str:
    child = _child(element, *names)
    return "".join(child.itertext()).strip() if child is not None else ""


def _date(value: str) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, Dublin Core); None when neither parses."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        return parsed if parsed.utcoffset() is not None else parse_published(parsed)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return parse_published(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _clean_title(value: str) -> str:
    return nfc(" ".join(html.unescape(value).split()))


def _rss_item(item: ElementTree.Element) -> FeedItem:
    link = _text(item, "link") or None
    guid_element = _child(item, "guid")
    guid = _text(item, "guid") or None
    if link is None and guid and guid_element is not None and guid_element.get("isPermaLink", "true") == "true":
        link = guid if guid.startswith(("http://", "https://")) else None
    summary = _text(item, "description") or _text(item, "encoded")  # content:encoded
    return FeedItem(
        title=_clean_title(_text(item, "title")),
        link=link,
        guid=guid,
        published=_date(_text(item, "pubDate") or _text(item, "date")),
        summary=html_to_text(summary),
    )


def _atom_link(entry: ElementTree.Element) -> str | None:
    links = [child for child in entry if _local(child.tag) == "link" and child.get("href")]
    for link in links:
        if link.get("rel", "alternate") == "alternate":
            return link.get("href")
    return links[0].get("href") if links else None


def _atom_entry(entry: ElementTree.Element) -> FeedItem:
    summary = _child(entry, "summary")
    if summary is None:
        summary = _child(entry, "content")
    text = "".join(summary.itertext()) if summary is not None else ""
    return FeedItem(
        title=_clean_title(_text(entry, "title")),
        link=_atom_link(entry),
        guid=_text(entry, "id") or None,
        published=_date(_text(entry, "published") or _text(entry, "updated")),
        summary=html_to_text(text),
    )


def _refuse_doctype(*_args: object) -> None:
    raise FeedError("tài liệu có khai báo DOCTYPE/ENTITY (bị từ chối vì an toàn)")


def _element_name(name: str) -> str:
    # expat writes "namespace}local"; ElementTree's convention is "{namespace}local".
    return "{" + name if "}" in name else name


def parse_xml(data: bytes) -> ElementTree.Element:
    """The root element of ``data``, refusing any DOCTYPE (and so every entity declaration)."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = lambda name, attributes: builder.start(
        _element_name(name), {_element_name(k): v for k, v in attributes.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(_element_name(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as exc:
        raise FeedError(f"XML hỏng ({expat.errors.messages.get(exc.code, exc)}, dòng {exc.lineno})") from None
    except AssertionError:  # TreeBuilder: no root element at all
        raise FeedError("XML rỗng") from None


def parse_feed(data: bytes) -> Feed:
    """The feed in ``data`` (RSS 2.0, RSS 1.0 or Atom). Raises :class:`FeedError`."""
    root = parse_xml(data)
    kind = _local(root.tag)
    if kind == "rss":
        channel = _child(root, "channel")
        if channel is None:
            raise FeedError("RSS không có <channel>")
        items = [_rss_item(e) for e in channel if _local(e.tag) == "item"]
        return Feed(_clean_title(_text(channel, "title")), items)
    if kind == "RDF":  # RSS 1.0: items are siblings of the channel
        channel = _child(root, "channel")
        title = _clean_title(_text(channel, "title")) if channel is not None else ""
        return Feed(title, [_rss_item(e) for e in root if _local(e.tag) == "item"])
    if kind == "feed":
        return Feed(_clean_title(_text(root, "title")), [_atom_entry(e) for e in root if _local(e.tag) == "entry"])
    raise FeedError(f"không phải RSS hay Atom (phần tử gốc <{kind}>)")
