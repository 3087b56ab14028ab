"""Telegram HTML building blocks shared by the bot's replies and the notifications.

Every piece of user or article text goes through :func:`escape`; the only markup in a
message is the markup its writer adds. :func:`split_html` cuts a long message into pieces
under Telegram's 4,096-character limit, at paragraph, line, sentence or word boundaries,
closing the open tags at the end of a piece and reopening them at the start of the next.

    for chunk in split_html(message):
        await sender.send_message(chat_id, chunk)

Plain text in, plain text out: nothing here knows python-telegram-bot.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

#: Telegram's limit for one message, after entity parsing; we measure the HTML itself
#: (always at least as long) in UTF-16 code units, as Telegram counts.
MESSAGE_LIMIT = 4096


def escape(text: str) -> str:
    """Text -> HTML that Telegram shows literally: ``<``, ``>`` and ``&`` escaped. Quotes
    need no escaping outside attributes, and leaving them avoids numeric entities."""
    return html.escape(text, quote=False)


def escape_attribute(value: str) -> str:
    """A value for ``href="..."``: like :func:`escape`, and ``"`` as ``&quot;``."""
    return escape(value).replace('"', "&quot;")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut + "…"


def format_date(published: str | datetime | None) -> str:
    """ISO date or datetime -> ``dd/mm/yyyy`` (the Vietnamese convention); "" when unknown."""
    if published is None or published == "":
        return ""
    if isinstance(published, datetime):
        return published.strftime("%d/%m/%Y")
    try:
        return datetime.fromisoformat(published).strftime("%d/%m/%Y")
    except ValueError:
        return published


def link(title: str, url: str | None) -> str:
    title_html = escape(title or "(không tiêu đề)")
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{escape_attribute(url)}">{title_html}</a>'
    return title_html


# --- splitting -----------------------------------------------------------------------

_ATOM = re.compile(r"<[^>]*>|&#?[A-Za-z0-9]+;|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
_SENTENCE_END = ".!?…"
_CLOSING_PUNCT = "\"'”’»)]"


@dataclass(frozen=True)
class _Atom:
    raw: str
    size: int
    tag: str | None = None  # tag name for tags
    closing: bool = False


def _atoms(markup: str) -> list[_Atom]:
    atoms = []
    for raw in _ATOM.findall(markup):
        if raw.startswith("<") and len(raw) > 1:
            name = _TAG_NAME.match(raw)
            atoms.append(_Atom(raw, utf16_len(raw), name.group(1).lower() if name else "", raw[1] == "/"))
        else:
            atoms.append(_Atom(raw, utf16_len(raw)))
    return atoms


def _closers(stack: Sequence[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _break_priority(text: list[str]) -> int:
    """How good a cut right after ``text[-1]`` is: 3 paragraph, 2 line, 1 sentence, 0 word, -1 none."""
    last = text[-1]
    if last == "\n":
        return 3 if len(text) > 1 and text[-2] == "\n" else 2
    if last == " " and len(text) > 1:
        before = text[-2]
        if before in _SENTENCE_END:
            return 1
        if before in _CLOSING_PUNCT and len(text) > 2 and text[-3] in _SENTENCE_END:
            return 1
        return 0
    return -1


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut ``markup`` (valid Telegram HTML) into pieces of at most ``limit`` UTF-16 units.

    Cuts at the last paragraph break that leaves a piece at least a quarter full, else
    the last line break, sentence end, space, and only then anywhere between two
    characters. Never inside a tag or an entity; tags open at a cut are closed at the
    end of the piece and reopened at the start of the next.
    """
    if utf16_len(markup) <= limit:
        return [markup] if markup.strip() else []
    atoms = _atoms(markup)
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open at `i`
    i = 0
    while i < len(atoms):
        opening = "".join(raw for _, raw in stack)
        size = utf16_len(opening)
        local = list(stack)
        chars: list[str] = []  # text characters of this piece, to judge break points
        # best[p] = (atom index after the cut, tag stack there) for break priority p
        best: dict[int, tuple[int, list[tuple[str, str]]]] = {}
        j = i
        while j < len(atoms):
            atom = atoms[j]
            after = local
            if atom.tag is not None:
                after = local[:-1] if atom.closing and local and local[-1][0] == atom.tag else local
                if not atom.closing:
                    after = [*local, (atom.tag, atom.raw)]
            if size + atom.size + utf16_len(_closers(after)) > limit:
                break
            size += atom.size
            local = after
            j += 1
            if atom.tag is None:
                chars.append(atom.raw)
                priority = _break_priority(chars)
                if priority >= 0 and (priority == 0 or size >= limit // 4):
                    best[priority] = (j, list(local))
        if j == len(atoms):
            cut, stack_at_cut = j, local
        elif j == i:
            raise ValueError(f"limit {limit} is too small for a single tag or character")
        else:
            choice = next((best[p] for p in (3, 2, 1, 0) if p in best), None)
            cut, stack_at_cut = choice if choice else (j, local)
        body = "".join(atom.raw for atom in atoms[i:cut])
        piece = (opening + body).rstrip(" \n") + _closers(stack_at_cut)
        if re.sub(r"<[^>]*>", "", piece).strip():
            pieces.append(piece)
        i, stack = cut, stack_at_cut
        while i < len(atoms) and atoms[i].tag is None and atoms[i].raw in " \n":
            i += 1
    return pieces
