"""Everything built from the settings, in one place: the engine, the model, the state store,
the database and its ingest queue, the bot.

    engine = open_engine(settings)                 # LocalEngine or MilvusEngine (in a DatabaseEngine with a database)
    embedder = load_model(settings)                # the embedding model (built offline first if needed)
    state = open_state_store(settings)             # storage.interfaces.StateStore
    with ingest_worker(settings, "worker") as worker: worker.run()      # `hoptac worker`
    with database_ingest(settings) as ingest: ingest.store(paths)       # `hoptac ingest` with a database
    application = build_bot(settings, engine)      # the Telegram application, ready to run
    run_bot(settings)                              # `hoptac bot`

This is where a backend is chosen: the other packages take what they are given.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoptac.settings import Settings, replica_name
from storage.interfaces import StateStore

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.config import BotConfig
    from bot.engine_client import Engine
    from ingest_service.db_ingest import DatabaseIngest
    from ingest_service.worker import IngestWorker
    from retrieval.embedding.embedder import Embedder
    from retrieval.engine import ArticleIndexer, Progress
    from retrieval.local.engine import LocalEngine
    from retrieval.local.index import IndexBackend
    from retrieval.milvus.engine import MilvusEngine
    from storage.postgres.database import Database
    from storage.postgres.embedded_import import ImportReport


def open_engine(settings: Settings, progress: Progress | None = None) -> Engine:
    """The answer engine: over Milvus when ``search_url`` is set, else over the local index
    (either built first if missing); with ``database_url``, its articles come from PostgreSQL
    (:class:`ingest_service.database_engine.DatabaseEngine`)."""
    return _engine(settings, progress, build_if_missing=True)


def load_model(settings: Settings, notify: Callable[[str], None] | None = None) -> Embedder:
    """The configured embedding model, built offline first if needed (``hoptac model build``);
    ``notify`` hears what is being done. Raises ``retrieval.embedding.ModelLoadError``."""
    return settings.engine_config().load_embedder(notify)


def open_database(settings: Settings) -> Database:
    """The PostgreSQL database of ``database_url`` (a pool; close it when done)."""
    from storage.postgres.database import Database

    assert settings.database_url is not None, "no database_url"
    return Database(settings.database_url.get_secret_value())


@contextmanager
def ingest_worker(settings: Settings, role: str, **options: float) -> Iterator[IngestWorker]:
    """A worker on PostgreSQL's ingest queue (``hoptac worker``), with its database; both closed on leaving."""
    db = open_database(settings)
    try:
        worker = open_ingest_worker(settings, db, role, **options)
        try:
            yield worker
        finally:
            worker.target.close()
    finally:
        db.close()


@contextmanager
def database_ingest(settings: Settings) -> Iterator[DatabaseIngest]:
    """``hoptac ingest`` into PostgreSQL: its articles, its queue and its workers, on one database
    closed on leaving."""
    from ingest_service.db_ingest import DatabaseIngest
    from storage.postgres.articles import ArticleStore
    from storage.postgres.ingest_jobs import IngestQueue

    db = open_database(settings)
    try:
        yield DatabaseIngest(
            ArticleStore(db),
            IngestQueue(db),
            functools.partial(open_ingest_worker, settings, db, "ingest"),
            max_bytes=settings.ingest_max_bytes,
        )
    finally:
        db.close()


def open_ingest_worker(settings: Settings, db: Database, role: str, **options: float) -> IngestWorker:
    """A worker on PostgreSQL's ingest queue (``hoptac worker``, or ``hoptac ingest`` waiting):
    its jobs go to Milvus when ``search_url`` is set, else into the local index."""
    from ingest_service.db_ingest import worker_name
    from ingest_service.worker import IngestWorker, LocalIndexTarget, SearchEngineTarget, Target
    from storage.postgres.articles import ArticleStore

    store = ArticleStore(db)
    target: Target
    if settings.search_url:
        target = SearchEngineTarget(open_article_indexer(settings), store)
    else:
        from retrieval.local.engine import LocalEngine

        target = LocalIndexTarget(LocalEngine(settings.engine_config(), store=open_index_store(settings)), store)
    return IngestWorker(worker_name(replica_name(settings), role), db, target, **options)  # type: ignore[arg-type]


def engine_for_changes(settings: Settings) -> Engine:
    """The engine for ``hoptac reindex`` and ``status``: it neither loads nor builds an index
    before it is asked to (the local one loads nothing at all)."""
    return _engine(settings, None, build_if_missing=False)


def _engine(settings: Settings, progress: Progress | None, build_if_missing: bool) -> Engine:
    config = settings.engine_config()
    db = None
    source = None
    if settings.database_url is not None:
        from ingest_service.database_engine import database_articles

        db = open_database(settings)
        source = functools.partial(database_articles, db)
    inner: LocalEngine | MilvusEngine
    if settings.search_url is not None:
        from retrieval.milvus.engine import MilvusEngine

        prefix = settings.search_collection_prefix
        inner = MilvusEngine.open(config, settings.search_url, prefix, progress, source, build_if_missing)
    else:
        from retrieval.local.engine import LocalEngine

        store = open_index_store(settings)
        if build_if_missing:
            inner = LocalEngine.open(config, progress, store=store)
        else:
            inner = LocalEngine(config, store=store)
    if db is None:
        return inner
    from ingest_service.database_engine import DatabaseEngine

    return DatabaseEngine(inner, db, replica_name(settings))


def open_article_indexer(settings: Settings) -> ArticleIndexer[Any]:
    """The shared search engine the ingest workers write to (``search_url``), with the model
    loaded to embed. Raises ``retrieval.milvus.index.MilvusIndexError`` when Milvus cannot be reached."""
    from retrieval.milvus.index import MilvusIndex
    from retrieval.vietnamese.analyzer import Analyzer

    assert settings.search_url is not None, "no search_url"
    embedder = settings.engine_config().load_embedder()
    return MilvusIndex.connect(
        settings.search_url, settings.search_collection_prefix, embedder.model_id, embedder.dimension,
        Analyzer(), embedder,
    )  # fmt: skip


def open_index_store(settings: Settings) -> IndexBackend:
    """Where the search index's versions live: the local FAISS + bm25s folder ``data_dir/index``."""
    from retrieval.local.index import IndexStore

    return IndexStore(settings.engine_config().index_root)


def open_state_store(settings: Settings) -> StateStore:
    """The bot's state: PostgreSQL when ``database_url`` is set, else SQLite in ``data_dir/hoptac.sqlite3``.

    Raises ``storage.errors.StateStoreError`` when the database cannot be reached, and its
    ``SchemaOutOfDate`` when its schema needs ``hoptac db upgrade``.
    """
    if settings.database_url is not None:
        from storage.postgres import PostgresStateStore

        return PostgresStateStore(settings.database_url.get_secret_value())
    from storage.sqlite import SQLiteStateStore

    return SQLiteStateStore(Path(settings.data_dir) / "hoptac.sqlite3")


def upgrade_database(settings: Settings) -> tuple[str | None, str | None]:
    """``hoptac db upgrade``: bring the PostgreSQL schema to this code's; (revision before, after)."""
    from storage.postgres.schema import upgrade

    assert settings.database_url is not None, "no database_url"
    return upgrade(settings.database_url.get_secret_value())


def import_embedded_state(
    settings: Settings, source: Path | None = None, *, merge: bool = False, dry_run: bool = False
) -> ImportReport:
    """``hoptac db import-embedded``: copy the SQLite state (``data_dir/hoptac.sqlite3`` unless
    ``source``) and the corpus folder's articles into the PostgreSQL database, in one transaction."""
    from storage.postgres.embedded_import import import_embedded

    assert settings.database_url is not None, "no database_url"
    source = Path(settings.data_dir) / "hoptac.sqlite3" if source is None else source
    return import_embedded(
        source,
        settings.database_url.get_secret_value(),
        merge=merge,
        dry_run=dry_run,
        corpus_dir=Path(settings.corpus_dir),
    )


def bot_config(settings: Settings) -> BotConfig:
    """The bot's part of the settings, validated; raises ``BotConfigError`` (token first)."""
    from bot.config import BotConfig

    values = settings.model_dump(include=BotConfig.setting_names())
    values.update(
        # With Milvus the folder holds nothing derived; without it, the worker mirrors PostgreSQL there.
        corpus_is_inbox=settings.database_url is not None and settings.search_url is not None,
        replica_name=replica_name(settings),
        metrics_port=_metrics_port(settings),
        metrics_listen=settings.telegram_webhook_listen,
        dedupe_updates=bool(settings.telegram_webhook_url) or settings.database_url is not None,
    )
    return BotConfig.checked(**values)


def _metrics_port(settings: Settings) -> int | None:
    """``metrics_port`` (0: off); unset: beside the webhook's port in webhook mode, off with long polling."""
    if settings.metrics_port is not None:
        return settings.metrics_port or None
    if settings.telegram_webhook_url:
        return settings.telegram_webhook_port + 1 if settings.telegram_webhook_port < 65535 else None
    return None


def build_bot(settings: Settings, engine: Engine, state: StateStore | None = None) -> Application:
    """The Telegram application over ``engine``, with ``state`` (default: the settings' state store).

    Raises ``BotConfigError`` (before anything starts) on a missing or malformed token.
    """
    from bot.app import build_application

    config = bot_config(settings)
    return build_application(config, engine, state if state is not None else open_state_store(settings))


def configure_logging(replica: str) -> None:
    """One line per event, starting with the time and the replica's name (a no-op when
    logging is already set up)."""
    name = replica.replace("%", "%%")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")


def run_bot(settings: Settings) -> None:
    """``hoptac bot``: open the answer engine and serve until interrupted.

    Raises ``BotConfigError`` for a missing, malformed or rejected token, before the
    engine is opened for the first two.
    """
    from bot.app import serve
    from bot.redact import protect_logs

    config = bot_config(settings)
    configure_logging(config.replica_name)
    protect_logs(config.token)
    if settings.database_url is not None:
        protect_logs(settings.database_url.get_secret_value())  # should a library ever log it whole
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of every job
    state = open_state_store(settings)  # a database to upgrade or out of reach stops us before the model loads
    try:
        engine = open_engine(settings)
    except BaseException:
        state.close()
        raise
    # The index and model are hundreds of thousands of long-lived objects: frozen, the
    # garbage collector stops walking them, so its full passes cannot stall the event loop.
    gc.collect()
    gc.freeze()
    serve(build_bot(settings, engine, state), config)
