"""Keep the bot token out of every log line.

The Bot API puts the token in the URL path (``/bot<token>/sendMessage``), and httpx logs
each request URL at INFO; python-telegram-bot also puts it in some exception texts.
:func:`protect_logs` quiets httpx and installs a filter on the root handlers that
replaces the token wherever it still appears, tracebacks included.
"""

from __future__ import annotations

import logging

REDACTED = "<token>"

# Loggers that print request URLs (and so the token) at INFO or DEBUG.
_CHATTY_LOGGERS = ("httpx", "httpcore")


class TokenRedactor(logging.Filter):
    """Rewrites a record so that neither its message nor its traceback holds a token."""

    def __init__(self, *tokens: str) -> None:
        super().__init__()
        self.tokens = {t for t in tokens if t}

    def redact(self, text: str) -> str:
        for token in self.tokens:
            text = text.replace(token, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse a cached exc_text, so caching the redacted one is enough.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def protect_logs(token: str) -> None:
    """Silence URL-logging libraries and redact ``token`` in every root handler's output.

    Call after logging is configured (a basic INFO configuration is made if none is).
    """
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        existing = [f for f in handler.filters if isinstance(f, TokenRedactor)]
        if existing:
            existing[0].tokens.add(token)
        else:
            handler.addFilter(TokenRedactor(token))
