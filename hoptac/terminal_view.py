"""The bot's messages as a terminal shows them (``hoptac try``, the docs' transcripts).

    text = plain_text(message)              # links as "text <url>", bold/italic with ANSI codes if asked
    lines = speech("Bot", text)             # "Bot:  first line", the next ones indented under it

A message comes as the Bot API returns it (``text`` and ``entities``, offsets in UTF-16
units), so what is shown is what Telegram would show, never the HTML the bot sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BOLD, ITALIC, RESET = "\x1b[1m", "\x1b[3m", "\x1b[0m"
LABEL_WIDTH = 6  # "Bot:  ": a message's later lines are indented as far


@dataclass(frozen=True)
class Choice:
    """A numbered thing the user can pick: a button under a message, an inline result."""

    label: str
    kind: str  # "callback", "url", "inline", "switch"
    chat_id: int = 0
    message_id: int = 0
    data: str = ""  # callback data, URL, inline result id or start parameter


def plain_text(message: dict[str, Any], *, ansi: bool = False) -> str:
    """The message's text; a link is shown as ``text <url>``, bold and italic as ANSI codes
    when ``ansi``, every other entity as its text."""
    text: str = message.get("text", "")
    units = text.encode("utf-16-le")
    inserts: list[tuple[int, int, str]] = []  # (UTF-16 offset, order, what to insert there)
    for entity in message.get("entities", []):
        start, end = entity["offset"], entity["offset"] + entity["length"]
        kind = entity["type"]
        if kind == "text_link":
            shown = units[2 * start : 2 * end].decode("utf-16-le")
            url = entity.get("url", "")
            if url and url != shown:
                inserts.append((end, 0, f" <{url}>"))
        elif ansi and kind in ("bold", "italic"):
            inserts.append((start, 1, BOLD if kind == "bold" else ITALIC))
            inserts.append((end, -1, RESET))
    if not inserts:
        return text
    pieces, cursor = [], 0
    for offset, _order, insert in sorted(inserts):
        pieces += [units[2 * cursor : 2 * offset].decode("utf-16-le"), insert]
        cursor = offset
    pieces.append(units[2 * cursor :].decode("utf-16-le"))
    return "".join(pieces)


def message_choices(message: dict[str, Any]) -> list[Choice]:
    """The inline buttons under a message, row by row."""
    chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
    found = []
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "callback_data" in button:
                found.append(Choice(button["text"], "callback", chat_id, message_id, button["callback_data"]))
            elif "url" in button:
                found.append(Choice(button["text"], "url", chat_id, message_id, button["url"]))
    return found


def inline_choices(answer: dict[str, Any]) -> tuple[list[str], list[Choice]]:
    """An ``answerInlineQuery``: the lines listing its results, and a choice per result
    (and for its button, which opens the private chat with a start parameter)."""
    lines, choices = [], []
    for result in answer.get("results", []):
        title = str(result.get("title", ""))
        lines.append(title)
        lines += [f"  {line}" for line in str(result.get("description", "")).splitlines()]
        choices.append(Choice(title, "inline", data=str(result["id"])))
    button = answer.get("button")
    if button:
        choices.append(Choice(str(button.get("text", "")), "switch", data=str(button.get("start_parameter", ""))))
    return lines, choices


def numbered(choices: list[Choice], first: int = 1) -> str:
    """``[1] 📄 Nguồn đầy đủ   [2] ➕ Thêm kết quả`` (URL buttons show their address)."""
    parts = []
    for number, choice in enumerate(choices, first):
        label = f"{choice.label} <{choice.data}>" if choice.kind == "url" else choice.label
        parts.append(f"[{number}] {label}")
    return "   ".join(parts)


def speech(label: str, text: str) -> list[str]:
    """``label: text``, the text's later lines indented by :data:`LABEL_WIDTH`."""
    head = f"{label}:".ljust(LABEL_WIDTH - 1) + " "
    lines = text.split("\n")
    return [f"{head}{lines[0]}".rstrip()] + [f"{' ' * LABEL_WIDTH}{line}".rstrip() for line in lines[1:]]
