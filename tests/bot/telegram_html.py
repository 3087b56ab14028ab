"""Moved to :mod:`bot.testing.telegram_html` (the fake Bot API server uses it); kept so
that older imports keep working. Import from ``bot.testing.telegram_html`` in new code."""

from bot.testing.telegram_html import ALLOWED_TAGS, NAMED_ENTITIES, EntityParseError, parse_html, utf16_len

__all__ = ["ALLOWED_TAGS", "NAMED_ENTITIES", "EntityParseError", "parse_html", "utf16_len"]
