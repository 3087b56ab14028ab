"""The real bot, tried in a terminal: ``hoptac try``.

The application ``hoptac bot`` builds (:func:`hoptac.wiring.build_bot`) long-polls the fake
Telegram Bot API (:mod:`bot.testing.fake_bot_api`) on 127.0.0.1 with a made-up token;
what the user types goes to it as a Telegram user's messages, and what the bot sends
comes back as text (:mod:`hoptac.terminal_view`). Nothing reaches Telegram.

    async with try_session(settings, engine, print) as session:   # settings: a sandbox's
        await session.handle("cau Dong Viet o dau")                 # a question in the private chat
        await session.handle("#2")                                  # the second button shown

What a line can be (:data:`KEYS`): a question or a bot command (``/latest``,
``/subscribe Hải Phòng``), ``/1`` or ``#1`` (a numbered button or inline result),
``#Thêm kết quả`` (the button with that label), ``@bot câu hỏi`` (an inline query),
``/upload PATH`` (a file sent to the bot as a document), ``/group`` and ``/private``
(which chat the next lines go to; the group subscribes to every new article the first
time), ``/quit``. The user is one of the bot's admins and an administrator of the group.

Each line is a step: it ends when the bot has taken the update, its handler has finished
and no reindex or upload is still running; then what the bot did is shown, a message
edited several times in that step only as it ended up.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, SHUTDOWN_KEY
from bot.deps import DEPS_KEY, BotDeps
from bot.polling import PollingTurn
from bot.shutdown import Shutdown, shut_down
from bot.testing.fake_bot_api import ApiCall, FakeBotApi, FakeChat, FakeUser
from hoptac.settings import Settings
from hoptac.terminal_view import Choice, inline_choices, message_choices, numbered, plain_text, speech
from hoptac.wiring import build_bot
from retrieval.engine import Engine

#: Only the fake Bot API ever sees it; it is not a token Telegram issued.
TOKEN = "7000000001:offline-try-not-a-telegram-token-000"
BOT_USERNAME = "hoptac_bot"
YOU = FakeUser(100000001, "Bạn", username="ban_thu")
PRIVATE = FakeChat(YOU.id, "private", first_name=YOU.first_name)
GROUP = FakeChat(-1000000000001, "supergroup", title="Nhóm thử")
#: How long one step may take (a reindex of a big corpus takes a while).
STEP_S = 600.0

KEYS = (
    "a question, or a bot command (/latest, /subscribe Hải Phòng, /reindex, /status, /feedback)",
    "/1 or #1: press button or inline result 1 of those shown last; #label: the button with that label",
    f"@{BOT_USERNAME} câu hỏi: an inline query (its results become the numbered choices)",
    "/upload PATH: send a file to the bot as an admin (.md, .txt, .html, .jsonl)",
    "/group: talk in a subscribed group; /private: back to the private chat",
    "/quit or Ctrl-D: stop",
)
_CHOICE = re.compile(r"^[/#](\d+)$")
_QUIET = {"sendChatAction", "getUpdates", "getMe", "setMyCommands", "deleteWebhook", "getFile", "download",
          "getChatMember", "getChat", "close", "logOut", "deleteMyCommands", "getMyCommands"}  # fmt: skip


class TrySession:
    """One user talking to the bot, in its private chat or in a group (see the module docstring)."""

    def __init__(
        self, api: FakeBotApi, application: Application, out: Callable[[str], None], ansi: bool, step_s: float
    ) -> None:
        self.api, self.application, self.out, self.ansi, self.step_s = api, application, out, ansi, step_s
        self.err = out  # where a line that cannot be done is said (hoptac try: standard error)
        self.chat = PRIVATE
        self.choices: list[Choice] = []
        self.inline_answer: dict[str, Any] | None = None
        self.group_subscribed = False
        self.echo = False  # repeat each line as the user's message (when it was not typed on a terminal)
        self.failures = 0  # lines that could not be done (a missing file, a choice that is not there)
        self.refused: list[ApiCall] = []  # the bot's calls the fake Telegram refused (bad HTML, too long...)
        self._earlier_choices: list[list[Choice]] = []  # the sets shown before self.choices
        self._seen = 0  # api.calls shown so far
        self._stepping = False
        api.add_listener(self._on_call)

    @property
    def deps(self) -> BotDeps:
        deps: BotDeps = self.application.bot_data[DEPS_KEY]
        return deps

    # --- lines -----------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Do what ``line`` says; False once the user asked to stop."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        self._stepping = True
        try:
            self.flush()  # what came in between steps (a notification from a job) first
            await self._do(text)
        finally:
            self._stepping = False
        return True

    async def _do(self, text: str) -> None:
        choice = _CHOICE.match(text)
        if choice is not None:
            await self._choose(int(choice.group(1)))
        elif text.startswith("#"):
            await self._choose_label(text[1:].strip())
        elif text == "/group":
            await self._switch(GROUP)
        elif text == "/private":
            await self._switch(PRIVATE)
        elif text == "/upload" or text.startswith("/upload "):
            await self._upload(text.removeprefix("/upload").strip())
        elif text.startswith(f"@{self.api.bot.username}"):
            self._say(text)
            self.api.send_inline_query(YOU, text.split(maxsplit=1)[1] if " " in text else "")
            await self._step()
        else:
            self._say(text)
            self.api.send_text(self.chat, YOU, text)
            await self._step()

    async def _switch(self, chat: FakeChat) -> None:
        self.chat = chat
        where = f"group «{chat.title}»" if chat.type != "private" else "private chat with the bot"
        self.out(f"(now in the {where})")
        if chat is GROUP and not self.group_subscribed:
            self.group_subscribed = True
            self.api.chat_admins.add((GROUP.id, YOU.id))
            self.echo, echo = True, self.echo
            try:
                await self._do("/subscribe")
            finally:
                self.echo = echo

    async def _upload(self, path_text: str) -> None:
        if not path_text:
            self._fail("/upload needs a file: /upload PATH")
            return
        path = Path(path_text).expanduser()
        try:
            content = path.read_bytes()
        except OSError as exc:
            self._fail(f"cannot read {path}: {exc.strerror}")
            return
        self._say(f"📎 {path.name}", chat=PRIVATE)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.api.send_document(PRIVATE, YOU, path.name, content, mime_type=mime)
        await self._step()

    async def _choose_label(self, label: str) -> None:
        """The choice labelled ``label`` (or whose label holds it) among those shown last,
        else among those shown before, latest first."""
        wanted = label.casefold()
        for choices in [self.choices, *reversed(self._earlier_choices)]:
            for exact in (True, False):
                for number, choice in enumerate(choices, 1):
                    label = choice.label.casefold()
                    if label == wanted or (not exact and wanted and wanted in label):
                        if choices is not self.choices:
                            self._set_choices(choices)
                        await self._choose(number)
                        return
        self._fail(f"no choice labelled {label!r}: {numbered(self.choices) or 'none shown'}")

    async def _choose(self, number: int) -> None:
        if not 1 <= number <= len(self.choices):
            self._fail(f"no choice {number}: {numbered(self.choices) or 'none shown'}")
            return
        choice = self.choices[number - 1]
        self._say(f"[{number}] {choice.label}", chat=self._chat_of(choice.chat_id) if choice.chat_id else self.chat)
        if choice.kind == "callback":
            message = self.api.messages.get((choice.chat_id, choice.message_id))
            try:
                assert message is not None
                self.api.press_button(YOU, message, choice.label)
            except (AssertionError, KeyError):
                self._fail("that button is no longer under its message")
                return
            await self._step()
        elif choice.kind == "inline" and self.inline_answer is not None:
            posted = self.api.choose_inline_result(YOU, self.chat, self.inline_answer, choice.data)
            self._show_message(f"{YOU.first_name} (via @{self.api.bot.username})", posted, [])
            self._show_choices_of([posted])
        elif choice.kind == "switch" or (choice.kind == "url" and _start_parameter(choice.data, self.api) is not None):
            parameter = choice.data if choice.kind == "switch" else _start_parameter(choice.data, self.api)
            if self.chat is not PRIVATE:
                self.chat = PRIVATE
                self.out("(now in the private chat with the bot)")
            self.api.send_text(PRIVATE, YOU, f"/start {parameter}")
            await self._step()
        else:
            self.out(f"(a link, opened in a browser: {choice.data})")

    def _say(self, text: str, chat: FakeChat | None = None) -> None:
        if self.echo:
            for line in speech(self._label(YOU.first_name, chat or self.chat), text):
                self.out(line)

    def _fail(self, what: str) -> None:
        self.failures += 1
        self.err(f"hoptac try: {what}")

    # --- waiting for the bot -------------------------------------------------------------------

    async def _step(self) -> None:
        """Wait until the bot is done with the update queued last (and any reindex or upload
        it started), then show what it did."""
        wait_s = self.step_s
        try:
            async with asyncio.timeout(wait_s):
                await self.api.taken(self.api.last_update_id, wait_s)
                await self.application.update_queue.join()
                await self.deps.reindex.idle()
        except TimeoutError:
            self.flush()
            self._fail(f"the bot did not finish within {wait_s:g} s")
            return
        self.flush()

    def _on_call(self, call: ApiCall) -> None:
        if not self._stepping and call.method not in _QUIET:
            # Between steps (a job's notification): shown as soon as the call is answered.
            asyncio.get_running_loop().call_soon(self._flush_between_steps)

    def _flush_between_steps(self) -> None:
        if not self._stepping:  # a step that began meanwhile shows it at its end
            self.flush()

    def flush(self) -> None:
        """Show what the bot did since the last flush."""
        calls = self.api.calls[self._seen :]
        self._seen = len(self.api.calls)
        last_edit: dict[tuple[str, Any, Any], int] = {}
        for index, call in enumerate(calls):
            if call.ok and call.method in ("editMessageText", "editMessageReplyMarkup"):
                last_edit[(call.method, call.params.get("chat_id"), call.params.get("message_id"))] = index
        shown: list[dict[str, Any]] = []
        for index, call in enumerate(calls):
            if call.method in _QUIET:
                continue
            if not call.ok:
                self.refused.append(call)
                self.out(f"(Telegram refused {call.method}: {call.description})")
                continue
            if call.method == "sendMessage":
                self._show_message(self._label("Bot", self._chat_of(call.result["chat"]["id"])), call.result, shown)
            elif call.method in ("editMessageText", "editMessageReplyMarkup"):
                key = (call.method, call.params.get("chat_id"), call.params.get("message_id"))
                if last_edit[key] != index:
                    continue  # progress: only the message as it ended up in this step
                label = self._label("Bot ✏️", self._chat_of(call.result["chat"]["id"]))
                if call.method == "editMessageReplyMarkup":
                    self._show_buttons_changed(label, call.result, shown)
                else:
                    self._show_message(label, call.result, shown)
            elif call.method == "answerCallbackQuery" and call.params.get("text"):
                for line in speech("Bot ⓘ", str(call.params["text"])):
                    self.out(line)
            elif call.method == "answerInlineQuery":
                self._show_inline_answer(call.params)
        if shown:
            self._show_choices_of(shown)

    # --- showing -------------------------------------------------------------------------------

    def _show_message(self, label: str, message: dict[str, Any], shown: list[dict[str, Any]]) -> None:
        for line in speech(label, plain_text(message, ansi=self.ansi)):
            self.out(line)
        self._number_buttons(message, shown)

    def _show_buttons_changed(self, label: str, message: dict[str, Any], shown: list[dict[str, Any]]) -> None:
        self.out(f"{label}: (the buttons under «{_first_line(message)}» changed)")
        self._number_buttons(message, shown)

    def _number_buttons(self, message: dict[str, Any], shown: list[dict[str, Any]]) -> None:
        choices = message_choices(message)
        if choices:
            first = sum(len(message_choices(m)) for m in shown) + 1
            self.out(f"{' ' * 6}{numbered(choices, first)}")
            shown.append(message)

    def _show_choices_of(self, messages: list[dict[str, Any]]) -> None:
        self._set_choices([choice for message in messages for choice in message_choices(message)])

    def _set_choices(self, choices: list[Choice]) -> None:
        if self.choices and choices is not self.choices:
            self._earlier_choices = [*[c for c in self._earlier_choices if c is not choices][-9:], self.choices]
        self.choices = choices

    def _show_inline_answer(self, answer: dict[str, Any]) -> None:
        lines, choices = inline_choices(answer)
        self.inline_answer = answer
        self.out("Bot (inline results):")
        number = 0
        for line in lines:
            if not line.startswith("  "):
                number += 1
                self.out(f"      [{number}] {line}")
            else:
                self.out(f"      {line}")
        if not answer.get("results"):
            self.out("      (no results)")
        if answer.get("button"):
            self.out(f"      [{len(choices)}] {choices[-1].label}")
        self._set_choices(choices)

    def _chat_of(self, chat_id: int) -> FakeChat:
        return GROUP if chat_id == GROUP.id else PRIVATE

    def _label(self, who: str, chat: FakeChat) -> str:
        """``who``, and where when it is not the chat the user is in."""
        return who if chat.id == self.chat.id else f"{who} → {chat.title or 'private chat'}"


def _first_line(message: dict[str, Any]) -> str:
    line = str(message.get("text", "")).split("\n")[0]
    return line if len(line) <= 60 else line[:59] + "…"


def _start_parameter(url: str, api: FakeBotApi) -> str | None:
    """The ``start`` parameter of a ``https://t.me/<this bot>?start=...`` link."""
    parts = urlsplit(url)
    if parts.netloc != "t.me" or parts.path.strip("/") != api.bot.username:
        return None
    values = parse_qs(parts.query).get("start")
    return values[0] if values else None


def bot_settings(settings: Settings, api_url: str) -> Settings:
    """``settings`` for the bot of a try: the fake Bot API, its token, the user as the only admin."""
    values = settings.model_dump()
    values.update(telegram_token=TOKEN, telegram_api_url=api_url, admin_ids=[YOU.id], telegram_webhook_url=None)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def try_session(
    settings: Settings, engine: Engine, out: Callable[[str], None], *, ansi: bool = False, step_s: float = STEP_S
) -> AsyncIterator[TrySession]:
    """The bot of ``settings`` (a sandbox's: :mod:`hoptac.sandbox`) over ``engine``, long
    polling a fake Bot API, for the duration of the block; stopped as ``hoptac bot`` stops."""
    async with FakeBotApi(TOKEN, bot_username=BOT_USERNAME) as api:
        application = build_bot(bot_settings(settings, api.url), engine)
        turn = PollingTurn(application, ALLOWED_UPDATES)
        try:
            await application.initialize()
            if application.post_init:
                await application.post_init(application)  # the command menus, the leases, the baseline
            await application.start()
            deps: BotDeps = application.bot_data[DEPS_KEY]
            await turn.follow(deps.singletons.held())
            session = TrySession(api, application, out, ansi, step_s)
            session.flush()
            yield session
        finally:
            turn.stop()
            shutdown: Shutdown = application.bot_data[SHUTDOWN_KEY]
            shutdown.begin()
            polling = None
            if application.updater is not None and application.updater.running:
                polling = asyncio.ensure_future(application.updater.stop())
            with contextlib.suppress(Exception):
                await shut_down(application, shutdown, before_closing=polling)
