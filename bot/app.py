"""hoptac's Telegram bot: answers questions in Vietnamese about regional-cooperation
news, quoting the exact source sentences as proof.

Private chat: any text is a question. Groups: ``/ask question``, ``/ask@botname``, a
mention of ``@botname`` or a reply to the bot; silence otherwise. Admins (by Telegram
user id) can ``/reindex`` in the background and see ``/status``.

    run_bot(Settings())                                   # `hoptac bot`: long polling or webhook
    application = build_application(settings, engine)    # tests drive this one directly

Every Bot API call goes to ``{telegram_api_url}/bot{token}/{method}``, so tests point the
bot at a fake server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot import handlers
from bot.answer_pages import Action
from bot.config import BotConfig, BotConfigError, rejected_token_error
from bot.delivery import RetryingRateLimiter
from bot.deps import DEPS_KEY, BotDeps
from bot.engine_client import Engine, EngineClient
from bot.redact import protect_logs
from hoptac.settings import Settings

__all__ = ["BotConfigError", "build_application", "run_bot"]

_LOGGER = logging.getLogger(__name__)

#: The updates the bot asks Telegram for; everything else is never even fetched.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]

PUBLIC_COMMANDS = [
    BotCommand("ask", "Đặt câu hỏi về tin hợp tác"),
    BotCommand("sources", "Các bài mới nhất trong kho tin"),
    BotCommand("help", "Hướng dẫn và ví dụ"),
    BotCommand("start", "Giới thiệu"),
]
ADMIN_COMMANDS = [
    *PUBLIC_COMMANDS,
    BotCommand("reindex", "Lập chỉ mục lại (quản trị)"),
    BotCommand("status", "Trạng thái chỉ mục và bot (quản trị)"),
]


def build_application(settings: Settings, engine: Engine) -> Application:
    """The bot, ready to run: every handler, the refresh job, flood control and retries.

    Raises :class:`BotConfigError` (before anything starts) on a missing or malformed token.
    """
    config = BotConfig.from_settings(settings)
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
        .rate_limiter(RetryingRateLimiter())
        .concurrent_updates(True)  # a slow question must not hold up everyone else's
        .post_init(_set_commands)
        .post_shutdown(_close)
        .build()
    )
    application.bot_data[DEPS_KEY] = BotDeps.create(config, EngineClient(engine, workers=config.workers))

    new = filters.UpdateType.MESSAGE  # an edited message is re-answered only in private chats
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    text = filters.TEXT & ~filters.COMMAND
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=new),
            CommandHandler("help", handlers.help_command, filters=new),
            CommandHandler("ask", handlers.ask, filters=new),
            CommandHandler("sources", handlers.sources, filters=new),
            CommandHandler("reindex", handlers.reindex, filters=new),
            CommandHandler("status", handlers.status, filters=new),
            MessageHandler(private & text, handlers.question),
            MessageHandler(groups & new & text, handlers.question),
            MessageHandler(private & new & filters.COMMAND, handlers.unknown_command),
            MessageHandler(private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.not_text),
            CallbackQueryHandler(handlers.full_source, pattern=f"^{Action.FULL_SOURCE}:"),
            CallbackQueryHandler(handlers.more_results, pattern=f"^{Action.MORE}:"),
            CallbackQueryHandler(handlers.feedback, pattern=f"^({Action.LIKE}|{Action.DISLIKE}):"),
            CallbackQueryHandler(handlers.unknown_button),
        ]
    )
    application.add_error_handler(handlers.on_error)

    if application.job_queue is not None:
        application.job_queue.run_repeating(
            handlers.refresh_index,
            interval=config.refresh_interval_s,
            first=config.refresh_interval_s,
            name="refresh-index",
            job_kwargs={"max_instances": 1, "coalesce": True},
        )
    return application


async def _set_commands(application: Application) -> None:
    """Register the command menu: public commands for all, admin ones in admins' chats."""
    bot = application.bot
    menus: list[tuple[list[BotCommand], BotCommandScopeChat | None]] = [(PUBLIC_COMMANDS, None)]
    menus += [(ADMIN_COMMANDS, BotCommandScopeChat(i)) for i in application.bot_data[DEPS_KEY].config.admin_ids]
    for commands, scope in menus:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:  # a menu is a convenience: never a reason not to start
            _LOGGER.warning("Could not set the command menu (%s): %s", scope or "everyone", exc)
    handlers.touch_heartbeat(application.bot_data[DEPS_KEY])
    _LOGGER.info("Bot @%s is up", bot.username)


async def _close(application: Application) -> None:
    deps: BotDeps = application.bot_data[DEPS_KEY]
    deps.engine.close()
    deps.feedback.close()


def run_bot(settings: Settings) -> None:
    """``hoptac bot``: open the answer engine and serve until interrupted.

    Long polling by default; webhook mode when ``telegram_webhook_url`` is set (Telegram's
    secret-token header is checked: the configured secret, or a fresh random one).
    Raises :class:`BotConfigError` for a missing, malformed or rejected token.
    """
    config = BotConfig.from_settings(settings)
    protect_logs(config.token)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of the refresh job
    # Imported here: the engine pulls in the embedding model and the vector index.
    from retrieval.engine import AnswerEngine

    engine = AnswerEngine.open(settings)
    application = build_application(settings, engine)
    # run_polling/run_webhook run on the current event loop and close it when done.
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        if config.webhook_url:
            _LOGGER.info("Webhook mode: listening on %s:%s", config.webhook_listen, config.webhook_port)
            application.run_webhook(
                listen=config.webhook_listen,
                port=config.webhook_port,
                url_path=config.webhook_path,
                webhook_url=config.webhook_url,
                secret_token=config.webhook_secret or secrets.token_urlsafe(32),
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=5,
            )
        else:
            _LOGGER.info("Long polling %s", config.api_url)
            application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=5)
    except InvalidToken:
        # PTB's message quotes the token; ours does not.
        raise rejected_token_error() from None
