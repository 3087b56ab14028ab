"""Moved to :mod:`bot.testing.fake_bot_api` (the load test ships it); kept so that older
imports keep working. Import from ``bot.testing.fake_bot_api`` in new code."""

from bot.testing.fake_bot_api import (
    CALLBACK_DATA_LIMIT,
    DEFAULT_WAIT_S,
    MESSAGE_LIMIT,
    ApiCall,
    ApiError,
    FakeBotApi,
    FakeChat,
    FakeUser,
    buttons,
    entities_for,
    entity_texts,
)

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "DEFAULT_WAIT_S",
    "MESSAGE_LIMIT",
    "ApiCall",
    "ApiError",
    "FakeBotApi",
    "FakeChat",
    "FakeUser",
    "buttons",
    "entities_for",
    "entity_texts",
]
