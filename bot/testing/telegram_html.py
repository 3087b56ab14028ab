"""Telegram's HTML parse mode, checked as strictly as the Bot API checks it.

    text, entities = parse_html('<b>Hải Dương</b> &amp; Bắc Giang')
    # -> ("Hải Dương & Bắc Giang", [{"type": "bold", "offset": 0, "length": 9}])

Raises :class:`EntityParseError` with Telegram's wording for anything the real server
rejects: an unsupported tag or attribute, a bare ``<``, ``>`` or ``&``, an unknown
named entity, a tag closed out of order or never closed. Offsets are UTF-16 units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ATTRIBUTE = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]+);")
_PLAIN = re.compile(r"[^<&>]+")


class EntityParseError(ValueError):
    """``str()`` is the Bot API's description, e.g. "Bad Request: can't parse entities: ..."."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Bad Request: can't parse entities: {detail}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(raw: str, byte_offset: int) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        if name in NAMED_ENTITIES:
            return NAMED_ENTITIES[name]
        raise EntityParseError(f'Unsupported HTML entity "&{name};" at byte offset {byte_offset}')

    return _ENTITY.sub(replace, raw)


@dataclass
class _Open:
    name: str
    kind: str
    start: int  # UTF-16 offset in the plain text
    extra: dict[str, Any]


def _attributes(tag: str, raw: str, byte_offset: int) -> dict[str, str]:
    attributes = {}
    for match in _ATTRIBUTE.finditer(raw):
        name, value = match.group(1).lower(), match.group(2) or ""
        if value[:1] in "\"'":
            value = value[1:-1]
        attributes[name] = _decode_entities(value, byte_offset)
    allowed = {"a": {"href"}, "span": {"class"}, "code": {"class"}, "blockquote": {"expandable"}}
    for name in attributes:
        if name not in allowed.get(tag, set()):
            raise EntityParseError(f'Unsupported attribute "{name}" in tag "{tag}" at byte offset {byte_offset}')
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
    if tag == "a" and "href" not in attributes:
        raise EntityParseError(f'Tag "a" must have attribute "href" at byte offset {byte_offset}')
    return attributes


def parse_html(markup: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and the entities Telegram would make of ``markup``."""
    plain: list[str] = []
    length = 0  # UTF-16 length of plain so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    byte_offset = 0  # UTF-8 offset of markup[i], kept up to date as i moves (for error messages)
    while i < len(markup):
        char = markup[i]
        if char == "<":
            match = _TAG.match(markup, i)
            if match is None:
                raise EntityParseError(f"Unexpected start tag at byte offset {byte_offset}")
            closing, name, raw_attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                raise EntityParseError(f'Unsupported {kind} tag "{name}" at byte offset {byte_offset}')
            if closing:
                if not stack or stack[-1].name != name:
                    raise EntityParseError(
                        f'Unmatched end tag at byte offset {byte_offset}, expected "</'
                        f'{stack[-1].name if stack else ""}>", found "</{name}>"'
                    )
                opened = stack.pop()
                if length > opened.start:
                    entity: dict[str, Any] = {
                        "type": opened.kind,
                        "offset": opened.start,
                        "length": length - opened.start,
                    }
                    entity.update(opened.extra)
                    entities.append(entity)
            else:
                if stack and stack[-1].name in ("code", "pre") and not (stack[-1].name == "pre" and name == "code"):
                    raise EntityParseError(
                        f'Tag "{name}" is not allowed inside "{stack[-1].name}" at byte offset {byte_offset}'
                    )
                attributes = _attributes(name, raw_attributes, byte_offset)
                extra: dict[str, Any] = {}
                if name == "a":
                    extra["url"] = attributes["href"]
                kind = ALLOWED_TAGS[name]
                if name == "blockquote" and "expandable" in attributes:
                    kind = "expandable_blockquote"
                stack.append(_Open(name, kind, length, extra))
            byte_offset += len(match.group(0).encode("utf-8"))
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(markup, i)
            if match is None:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {byte_offset}")
            decoded = _decode_entities(match.group(0), byte_offset)
            plain.append(decoded)
            length += utf16_len(decoded)
            byte_offset += len(match.group(0).encode("utf-8"))
            i = match.end()
        elif char == ">":
            raise EntityParseError(f'Character ">" is reserved and must be escaped at byte offset {byte_offset}')
        else:  # a run of plain text, up to the next "<", "&" or ">"
            run = _PLAIN.match(markup, i)
            assert run is not None
            plain.append(run.group())
            length += utf16_len(run.group())
            byte_offset += len(run.group().encode("utf-8"))
            i = run.end()
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities
