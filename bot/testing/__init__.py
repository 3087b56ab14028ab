"""Test doubles shipped with the bot, so that ``hoptac`` can drive the real bot offline.

- ``fake_bot_api``: a fake Telegram Bot API server on 127.0.0.1 (used by the tests and by
  :mod:`measure.loadtest`)
- ``telegram_html``: Telegram's HTML parse mode, checked as strictly as the Bot API does
"""
