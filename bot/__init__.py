"""The Telegram bot: Telegram updates in, grounded answers out (see :mod:`bot.app`).

Knows nothing about embeddings or vector indexes: it talks only to the answer engine.
"""
