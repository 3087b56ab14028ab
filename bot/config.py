"""The bot's own configuration, validated up front.

    config = BotConfig.checked(telegram_token=secret_token, telegram_api_url=..., ...)   # BotConfigError on a bad token

The application builds it from its settings (``hoptac.wiring.bot_config``): the fields that
are settings take them by the settings' names, validated and converted by pydantic; the
rest (the replica's name, the metrics port...) are worked out there, once. The token and
the webhook secret are kept out of ``repr`` so a logged config never shows them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
# Telegram's rule for setWebhook's secret_token: 1-256 of these characters.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class BotConfigError(Exception):
    """A bot setting that stops the bot from starting; ``str()`` is one printable line
    (Vietnamese / English) and never contains the token."""


def _token_error(problem_vi: str, problem_en: str) -> BotConfigError:
    return BotConfigError(
        f"{problem_vi}: tạo bot với @BotFather (/newbot) rồi đặt HOPTAC_TELEGRAM_TOKEN; trong lúc chờ, "
        f'hãy thử `hoptac ask "câu hỏi"`. / {problem_en}: get a token from @BotFather (/newbot) and set '
        'HOPTAC_TELEGRAM_TOKEN; meanwhile try `hoptac ask "..."`.'
    )


def missing_token_error() -> BotConfigError:
    return _token_error("Chưa có token Telegram", "No Telegram bot token")


def malformed_token_error() -> BotConfigError:
    return _token_error(
        "Token Telegram sai định dạng (<số>:<35 ký tự>)", "The Telegram bot token is malformed (<digits>:<35 chars>)"
    )


def rejected_token_error() -> BotConfigError:
    return _token_error(
        "Telegram từ chối token (đã thu hồi hoặc gõ sai)", "Telegram rejected the bot token (revoked or mistyped)"
    )


def _secret(value: Any) -> str | None:
    """The plain string of a ``SecretStr`` or ``str`` setting; None when unset or blank."""
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    plain = plain.strip()
    return plain or None


def validate_token(value: Any) -> str:
    """The token as a plain string, or :class:`BotConfigError` if it is missing or malformed."""
    token = _secret(value)
    if token is None:
        raise missing_token_error()
    if not TOKEN_PATTERN.fullmatch(token):
        raise malformed_token_error()
    return token


class BotConfig(BaseModel):
    """Validated bot settings. ``webhook_url`` set means webhook mode, else long polling.

    A field that is a setting of the application's takes it by its name there (the alias):
    ``BotConfig.checked(**settings.model_dump(include=BotConfig.setting_names()), ...)``."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True)

    token: str = Field(repr=False, alias="telegram_token")
    api_url: str = Field(alias="telegram_api_url")
    admin_ids: frozenset[int]
    data_dir: Path
    answer_sentences: int = 3
    # Webhook mode (behind a reverse proxy that forwards to listen:port).
    webhook_url: str | None = Field(default=None, alias="telegram_webhook_url")
    webhook_secret: str | None = Field(default=None, repr=False, alias="telegram_webhook_secret")
    webhook_listen: str = Field(default="0.0.0.0", alias="telegram_webhook_listen")
    webhook_port: int = Field(default=8080, alias="telegram_webhook_port")
    # Per-user question limit: at most `rate_limit_questions` in `rate_limit_window_s`.
    rate_limit_questions: int = Field(default=20, alias="bot_rate_limit_questions")
    rate_limit_window_s: float = Field(default=60.0, alias="bot_rate_limit_window_seconds")
    # How often the bot checks whether another process swapped in a new index.
    refresh_interval_s: float = Field(default=10.0, alias="bot_refresh_seconds")
    # Longer questions are refused with an explanation rather than silently truncated.
    max_question_chars: int = Field(default=1000, alias="bot_max_question_chars")
    # Threads answering questions; the reindex gets its own thread.
    workers: int = Field(default=2, alias="bot_workers")
    # New articles (see docs/notifications.md): the watched corpus folder, feeds, uploads.
    corpus_dir: Path = Path("corpus")
    corpus_watch_s: float = Field(default=30.0, alias="corpus_watch_seconds")  # 0: the folder is not watched
    #: The articles live in PostgreSQL and the search in Milvus: the watched folder is an inbox, and dropped .md files
    #: are moved aside once stored, like the other formats (a file left there would be stored
    #: again at the next start, over a newer version that came another way).
    corpus_is_inbox: bool = False
    feeds: tuple[str, ...] = ()
    feed_poll_s: float = Field(default=900.0, alias="feed_poll_seconds")
    fetch_timeout_s: float = Field(default=20.0, alias="feed_timeout_seconds")
    fetch_max_bytes: int = 5_000_000
    # Hosts that feeds and /add may fetch from although their addresses are not public.
    fetch_allowed_hosts: tuple[str, ...] = ()
    upload_max_bytes: int = 10_000_000
    notify_send_s: float = Field(default=5.0, alias="notify_send_seconds")
    # Replicas (docs/deploy.md): the name in logs and leases, the /healthz + /metrics port (None: off).
    replica_name: str = "hoptac"
    metrics_port: int | None = None
    metrics_listen: str = "0.0.0.0"
    lease_ttl_s: float = Field(default=20.0, alias="singleton_lease_seconds")
    # Once SIGTERM/SIGINT came, the process is gone within this long, whatever is out of reach.
    shutdown_s: float = Field(default=10.0, alias="shutdown_seconds")
    # Record each update_id and skip repeats (webhook re-deliveries, other replicas); off for
    # one long-polling process on SQLite, where getUpdates' offset already does it.
    dedupe_updates: bool = False

    @field_validator("api_url")
    @classmethod
    def _without_final_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def setting_names(cls) -> set[str]:
        """The names of the fields as the application's settings call them (alias, else the name)."""
        return {info.alias or name for name, info in cls.model_fields.items()}

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hoptac.sqlite3"

    @property
    def imported_dir(self) -> Path:
        """Where files dropped into the corpus folder go once ingested (``failed/`` if unreadable)."""
        return self.data_dir / "imported"

    @property
    def incoming_dir(self) -> Path:
        """Scratch space for fetched pages and uploads on their way into the corpus."""
        return self.data_dir / "incoming"

    @property
    def heartbeat_path(self) -> Path:
        """Touched while the bot runs and its engine answers (a cheap container health check)."""
        return self.data_dir / "bot.heartbeat"

    @property
    def webhook_path(self) -> str:
        """The path part of ``webhook_url``, which the local webhook server listens on."""
        return urlsplit(self.webhook_url or "").path.strip("/")

    @classmethod
    def checked(
        cls,
        *,
        telegram_token: Any,
        telegram_webhook_url: Any = None,
        telegram_webhook_secret: Any = None,
        **values: Any,
    ) -> BotConfig:
        """Validate the token (first, before anything) and the webhook values, plain or
        secret-wrapped; raises :class:`BotConfigError`. ``values`` are the other fields, by
        their names or their settings' names."""
        plain_token = validate_token(telegram_token)
        url = _secret(telegram_webhook_url)
        secret = _secret(telegram_webhook_secret)
        if url is not None and not url.startswith("https://"):
            raise BotConfigError(
                "HOPTAC_TELEGRAM_WEBHOOK_URL phải bắt đầu bằng https:// / "
                "HOPTAC_TELEGRAM_WEBHOOK_URL must be an https:// URL."
            )
        if secret is not None and not WEBHOOK_SECRET_PATTERN.fullmatch(secret):
            raise BotConfigError(
                "HOPTAC_TELEGRAM_WEBHOOK_SECRET chỉ gồm A-Z, a-z, 0-9, _ và -, tối đa 256 ký tự / "
                "HOPTAC_TELEGRAM_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and -, up to 256 characters."
            )
        return cls.model_validate({**values, "token": plain_token, "webhook_url": url, "webhook_secret": secret})
