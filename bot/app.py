"""hoptac's Telegram bot: answers questions in Vietnamese about regional-cooperation
news, quoting the exact source sentences as proof.

Private chat: any text is a question. Groups: ``/ask question``, ``/ask@botname``, a
mention of ``@botname`` or a reply to the bot; silence otherwise. Admins (by Telegram
user id) can ``/reindex`` in the background, see ``/status``, and add articles with
``/add URL`` or by sending a file. ``/subscribe`` makes a chat hear about every new
article, or with a place or keyword only those about it (``bot.subscribing``), whether
it came from a feed, the watched corpus folder, an admin or ``hoptac ingest`` (see
docs/notifications.md).

    application = build_application(config, engine, state)   # every handler and job, ready to run
    serve(application, config)                                # long polling or webhook, until stopped

``hoptac bot`` (:func:`hoptac.wiring.run_bot`) reads the settings, opens the engine and
the state store, and calls these two.

Every Bot API call goes to ``{telegram_api_url}/bot{token}/{method}``, so tests point the
bot at a fake server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers, inline, jobs, replicas, subscribing
from bot.command_menus import command_menus
from bot.config import BotConfig, BotConfigError, rejected_token_error
from bot.delivery import RetryingRateLimiter
from bot.deps import DEPS_KEY, BotDeps
from bot.engine_client import EngineClient
from bot.keyboards import Action
from bot.ops_server import OpsServer
from bot.polling import serve_polling
from bot.shutdown import Shutdown
from bot.webhook import serve_webhook
from retrieval.engine import Engine
from storage.interfaces import StateStore

__all__ = ["BotConfigError", "build_application", "serve"]

_LOGGER = logging.getLogger(__name__)

OPS_KEY = "hoptac-ops-server"
SHUTDOWN_KEY = "hoptac-shutdown"  # bot_data: the bot.shutdown.Shutdown of this application

#: The updates the bot asks Telegram for; everything else is never even fetched.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]


def build_application(config: BotConfig, engine: Engine, state: StateStore) -> Application:
    """The bot, ready to run: every handler and job, flood control and retries."""
    shutdown = Shutdown(config.shutdown_s)
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(RetryingRateLimiter(shutdown=shutdown))  # no retry outlasts a stop
        .concurrent_updates(True)  # a slow question must not hold up everyone else's
        .post_init(_on_start)
        .post_shutdown(_close)
        .build()
    )
    application.bot_data[SHUTDOWN_KEY] = shutdown
    application.bot_data[DEPS_KEY] = BotDeps.create(
        config, EngineClient(engine, workers=config.workers, cut_off=shutdown.answers_cut_off), state, application.bot
    )

    new = filters.UpdateType.MESSAGE  # an edited message is re-answered only in private chats
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    text = filters.TEXT & ~filters.COMMAND
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=new),
            CommandHandler("help", handlers.help_command, filters=new),
            CommandHandler("ask", handlers.ask, filters=new),
            CommandHandler("latest", handlers.latest, filters=new),
            CommandHandler("sources", handlers.sources, filters=new),
            CommandHandler("subscribe", subscribing.subscribe, filters=new),
            CommandHandler("subscriptions", subscribing.subscriptions, filters=new),
            CommandHandler("unsubscribe", subscribing.unsubscribe, filters=new),
            CommandHandler("add", handlers.add, filters=new),
            CommandHandler("reindex", handlers.reindex, filters=new),
            CommandHandler("status", handlers.status, filters=new),
            CommandHandler("feedback", handlers.recent_feedback, filters=new),
            MessageHandler(private & text, handlers.question),
            MessageHandler(groups & new & text, handlers.question),
            MessageHandler(private & new & filters.COMMAND, handlers.unknown_command),
            MessageHandler(private & new & filters.Document.ALL, handlers.document),
            MessageHandler(private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.not_text),
            CallbackQueryHandler(handlers.full_source, pattern=f"^{Action.FULL_SOURCE}:"),
            CallbackQueryHandler(handlers.more_results, pattern=f"^{Action.MORE}:"),
            CallbackQueryHandler(handlers.opening, pattern=f"^{Action.OPENING}:"),
            CallbackQueryHandler(handlers.feedback, pattern=f"^({Action.LIKE}|{Action.DISLIKE}):"),
            CallbackQueryHandler(handlers.feedback_reason, pattern=f"^{Action.REASON}:"),
            CallbackQueryHandler(handlers.unknown_button),
            InlineQueryHandler(inline.inline_query),
        ]
    )
    application.add_error_handler(handlers.on_error)
    if config.dedupe_updates and not config.webhook_url:  # webhook mode: bot.webhook claims each update
        # Before every other handler: an update another replica (or this one) already took stops here.
        application.add_handler(TypeHandler(Update, replicas.skip_repeated_update), group=-1)

    if application.job_queue is not None:
        # (job, name, interval, whether it also runs as soon as the bot starts)
        deps: BotDeps = application.bot_data[DEPS_KEY]
        schedule = [
            # _on_start takes the leases first; then they are renewed well before they lapse.
            (replicas.keep_singletons, "keep-singletons", deps.singletons.renew_every_s, False),
            (replicas.prune_updates, "prune-updates", replicas.PRUNE_EVERY_S, True),
            (jobs.refresh_index, "refresh-index", config.refresh_interval_s, False),  # _on_start looks first
            (jobs.send_notifications, "send-notifications", config.notify_send_s, True),
        ]
        if config.corpus_watch_s > 0:
            schedule.append((jobs.watch_corpus, "watch-corpus", config.corpus_watch_s, True))
        if config.feeds:
            schedule.append((jobs.poll_feeds, "poll-feeds", config.feed_poll_s, True))
        for callback, name, interval, at_start in schedule:
            # A slow run is never overlapped by the next one of the same job.
            application.job_queue.run_repeating(
                callback, interval=interval, name=name, job_kwargs={"max_instances": 1, "coalesce": True}
            )
            if at_start:
                # run_repeating(first=0) would be a past start by the time the scheduler
                # starts, so its first run would come one interval late.
                application.job_queue.run_once(
                    callback, when=0, name=f"{name}-at-start", job_kwargs={"misfire_grace_time": None}
                )
    return application


async def _on_start(application: Application) -> None:
    """Register the command menus (private chats, groups, the bot's admins; Vietnamese and
    English: :mod:`bot.command_menus`) and take stock of the index for notifications."""
    bot = application.bot
    for menu in command_menus(application.bot_data[DEPS_KEY].config.admin_ids):
        try:
            await bot.set_my_commands(menu.bot_commands(), scope=menu.scope, language_code=menu.language_code)
        except TelegramError as exc:  # a menu is a convenience: never a reason not to start
            _LOGGER.warning("Could not set the command menu (%s, %s): %s", menu.scope.type, menu.language_code, exc)
    deps: BotDeps = application.bot_data[DEPS_KEY]
    held = await replicas.renew_singletons(deps)  # before the singleton jobs first run
    _LOGGER.info("Replica %s; singletons held: %s", deps.config.replica_name, [n for n, h in held.items() if h])
    if deps.config.metrics_port is not None:
        ops = OpsServer(deps, deps.config.metrics_listen, deps.config.metrics_port)
        await ops.start()
        application.bot_data[OPS_KEY] = ops
    try:
        # Before any job runs: on a new database this records the baseline (the articles
        # indexed so far are never announced); after a restart it queues what was indexed
        # while the bot was down, and what it had not finished sending goes out first.
        await deps.notifier.check_index()
    except Exception:
        _LOGGER.exception("Could not check the index for new articles; trying again later")
    jobs.touch_heartbeat(deps)
    _LOGGER.info("Bot @%s is up", bot.username)


async def _close(application: Application) -> None:
    """Give the leases back and close; a database or search engine out of reach is given up
    on when the stop's time is over (the leases lapse by themselves)."""
    deps: BotDeps = application.bot_data[DEPS_KEY]
    shutdown: Shutdown = application.bot_data[SHUTDOWN_KEY]
    ops: OpsServer | None = application.bot_data.pop(OPS_KEY, None)
    if ops is not None:
        await ops.stop()
    # Another replica takes over at once (else when the leases lapse).
    await shutdown.within("giving the singleton leases back", asyncio.to_thread(deps.singletons.release_all))
    deps.engine.close()
    await shutdown.within("closing the state store", asyncio.to_thread(deps.state.close))


def serve(application: Application, config: BotConfig) -> None:
    """Serve until interrupted: long polling by default; webhook mode when ``webhook_url``
    is set (Telegram's secret-token header is checked: the configured secret, or a fresh
    random one). Raises :class:`BotConfigError` when Telegram rejects the token. Once
    interrupted, it returns within ``shutdown_s`` whatever is out of reach (:mod:`bot.shutdown`).
    """
    shutdown: Shutdown = application.bot_data[SHUTDOWN_KEY]
    # serve_webhook/serve_polling run on the current event loop and close it when done.
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        if config.webhook_url:
            _LOGGER.info("Webhook mode: listening on %s:%s", config.webhook_listen, config.webhook_port)
            # Our own server, not run_webhook's: Telegram gets its 200 once the update is answered.
            secret = config.webhook_secret or secrets.token_urlsafe(32)
            serve_webhook(application, config, secret, ALLOWED_UPDATES, shutdown)
        else:
            _LOGGER.info("Long polling %s (while this replica holds the telegram-polling lease)", config.api_url)
            serve_polling(application, ALLOWED_UPDATES, shutdown)
    except InvalidToken:
        # PTB's message quotes the token; ours does not.
        raise rejected_token_error() from None
