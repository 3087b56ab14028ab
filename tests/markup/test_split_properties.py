"""Properties of Telegram HTML splitting (hypothesis): any valid message, however nested,
comes out as pieces within Telegram's limit in UTF-16 units, each accepted by the strict
checker, and together they show every visible character of the message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.testing.telegram_html import parse_html
from markup.html import MESSAGE_LIMIT, escape, escape_attribute, split_html, utf16_len
from tests.properties import fast, vietnamese_text

_LEAF = st.one_of(
    vietnamese_text(200).map(escape),
    st.text(max_size=60).map(escape),
    st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&#7857;", "&#x1F600;", "😀", "𝔥", "\n\n", "\n", ". ", " "]),
)
_OPENING = st.sampled_from(
    ["<b>", "<i>", "<u>", "<s>", "<em>", "<strong>", "<tg-spoiler>", "<blockquote>"]
) | st.one_of(
    st.just('<span class="tg-spoiler">'),
    st.just("<blockquote expandable>"),
    st.sampled_from(["https://baohaiduong.example/bai.html", 'https://x.example/?a=1&b="2"']).map(
        lambda url: f'<a href="{escape_attribute(url)}">'
    ),
)


def _tag_name(opening: str) -> str:
    return opening[1:].split(">")[0].split()[0]


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A formatting tag around children, or code/pre around text only (nothing nests in them)."""
    formatted = st.tuples(_OPENING, st.lists(children, max_size=4)).map(
        lambda pair: pair[0] + "".join(pair[1]) + f"</{_tag_name(pair[0])}>"
    )
    code = _LEAF.map(lambda text: f"<code>{text}</code>")
    pre = _LEAF.map(lambda text: f'<pre><code class="language-python">{text}</code></pre>') | _LEAF.map(
        lambda text: f"<pre>{text}</pre>"
    )
    return formatted | code | pre


messages = st.lists(st.recursive(_LEAF, _element, max_leaves=20), max_size=12).map("".join)


def visible(markup: str) -> str:
    """The text Telegram shows, whitespace aside (a cut may drop the spaces where it falls)."""
    return "".join(parse_html(markup)[0].split())


@fast(150)
@given(messages, st.integers(300, 1200))
def test_every_piece_fits_is_valid_and_nothing_visible_is_lost(message: str, limit: int) -> None:
    parse_html(message)  # the generator makes only valid messages
    pieces = split_html(message, limit)
    for piece in pieces:
        assert utf16_len(piece) <= limit
        parse_html(piece)
    assert "".join(visible(piece) for piece in pieces) == visible(message)


@fast(10)
@given(messages, st.integers(1, 3))
def test_a_long_message_is_cut_under_telegrams_limit(message: str, repeat: int) -> None:
    long_message = "\n\n".join([message, "<b>Hải Dương</b> 😀 " * 300] * repeat)
    pieces = split_html(long_message)
    assert all(utf16_len(piece) <= MESSAGE_LIMIT for piece in pieces)
    for piece in pieces:
        parse_html(piece)
    assert "".join(visible(piece) for piece in pieces) == visible(long_message)
