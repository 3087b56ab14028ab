"""A fake Telegram Bot API server on 127.0.0.1, for driving the real bot offline.

It speaks HTTP/1.1 (keep-alive, one asyncio task per connection, so a long-polling
``getUpdates`` never blocks a ``sendMessage``) and real Bot API JSON at
``/bot<token>/<method>``: ``getMe``, ``getUpdates`` (offsets, long-poll ``timeout``,
answered as soon as an update is queued; ``taken`` waits until an offset confirmed one),
``sendMessage``, ``editMessageText``, ``editMessageReplyMarkup``, ``answerCallbackQuery``,
``answerInlineQuery`` (results and their messages checked; ``send_inline_query`` queues an ``inline_query`` update,
``choose_inline_result`` posts a chosen result), ``sendChatAction``,
``setMyCommands`` (one menu per scope and language code: ``menu``), ``deleteWebhook``,
``getChatMember``, ``getFile`` (and the file download at ``/file/bot<token>/<path>``)
and the rest PTB calls at startup. Text sent with ``parse_mode=HTML`` is parsed as Telegram parses it (see
:mod:`bot.testing.telegram_html`) and must be at most 4,096 characters afterwards, else
400 "Bad Request: ..." as from Telegram; ``fail_next`` makes the next calls answer 429;
``block_chat`` makes every message to a chat answer 403, ``delete_chat`` 400 "chat not
found".

Webhooks, as Telegram does them: after ``setWebhook`` (an ``https://`` URL, its
``secret_token`` and ``max_connections`` recorded), ``getUpdates`` answers 409 and every
queued update is POSTed to the webhook (JSON, header ``X-Telegram-Bot-Api-Secret-Token``),
one at a time per chat and at most ``max_connections`` at once, each on a connection of
its own; an update leaves the queue only when its POST got a 2xx, and is delivered again
after a short back-off (``WEBHOOK_BACKOFF_S``, doubling up to ``WEBHOOK_BACKOFF_MAX_S``)
when the answer was not 2xx, the connection failed or it took longer than
``webhook_timeout_s``. The webhook's host is never looked up: ``route_webhook(host,
port)`` says which port on 127.0.0.1 receives it, in plain HTTP (the TLS-terminating
proxy's part). ``deliveries`` records every attempt; ``deleteWebhook`` stops them.

    async with FakeBotApi(TOKEN) as api:
        api.send_text(PRIVATE, ALICE, "Hải Dương hợp tác với tỉnh nào?")
        reply = await api.next_message(PRIVATE.id)       # waits, with a deadline

The server runs in the event loop that starts it (the tests' and the load test's loop,
the bot's too; ``tests/bot/conftest.py:api_in_thread`` gives it a loop of its own).
``add_listener`` calls a function on every recorded call as it arrives, for code that
waits on many chats at once (:mod:`measure.loadtest`). Shipped in the package, not under
``tests/``, so that ``hoptac`` can drive the real bot offline too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from bot.testing.telegram_html import EntityParseError, parse_html, utf16_len

T = TypeVar("T")

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
DEFAULT_WAIT_S = 10.0
#: The first wait before a webhook delivery is tried again, doubled at each failure up to the max.
WEBHOOK_BACKOFF_S = 0.1
WEBHOOK_BACKOFF_MAX_S = 2.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Parameters sent as JSON-serialised strings in form-encoded requests.
_JSON_PARAMETERS = {
    "reply_markup",
    "reply_parameters",
    "entities",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "results",
    "button",
}
_INT_PARAMETERS = {"offset", "limit", "timeout", "message_id", "user_id", "cache_time"}
_BOOL_PARAMETERS = {"is_personal"}
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None  # the user's Telegram language ("en": English texts)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class FakeChat:
    id: int
    type: str  # "private", "group", "supergroup"
    title: str | None = None
    first_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        if self.first_name:
            data["first_name"] = self.first_name
        return data


@dataclass
class ApiCall:
    """One Bot API request the bot made, and what the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    result: Any = None  # the "result" on success
    description: str = ""  # the error description otherwise
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


@dataclass(frozen=True)
class Webhook:
    """What ``setWebhook`` registered."""

    url: str
    secret_token: str | None
    max_connections: int = 40


@dataclass(frozen=True)
class Delivery:
    """One POST of an update to the webhook: its HTTP status, or why there was none (0)."""

    update_id: int
    status: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def menu_key(scope: dict[str, Any] | None, language_code: str = "") -> str:
    """How a command menu is filed: its scope (JSON, the default scope when None) and its
    language code ("" for every language), as Telegram keeps one menu per pair."""
    key = json.dumps(scope or {"type": "default"}, sort_keys=True)
    return f"{key} {language_code}" if language_code else key


def update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (Telegram delivers one update of a chat at a time)."""
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if kind in update:
            chat_id: int = update[kind]["chat"]["id"]
            return chat_id
    message = update.get("callback_query", {}).get("message")
    return int(message["chat"]["id"]) if message else None


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


def entities_for(text: str) -> list[dict[str, Any]]:
    """The entities Telegram's server adds to a user's text: commands and @mentions."""
    found = []
    for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION)):
        for match in pattern.finditer(text):
            found.append({"type": kind, "offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group())})
    return sorted(found, key=lambda e: e["offset"])


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The inline buttons of a bot message: label -> callback_data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button.get("callback_data", "") for row in rows for button in row}


def entity_texts(message: dict[str, Any], kind: str) -> list[str]:
    """The text under each entity of ``kind`` (offsets are UTF-16 units, as in the Bot API)."""
    data = message.get("text", "").encode("utf-16-le")
    return [
        data[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == kind
    ]


class FakeBotApi:
    """See the module docstring. All waits take a deadline and raise ``TimeoutError``."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "hoptac_test_bot",
        bot_id: int = 7_000_000_001,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot = FakeUser(bot_id, "Hợp tác", username=bot_username, is_bot=True)
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # menu_key(scope, language) -> commands
        self.chat_admins: set[tuple[int, int]] = set()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(first_update_id)  # another start for another run on one database
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._open_inline_queries: set[str] = set()
        self.inline_answers: dict[str, dict[str, Any]] = {}  # inline query id -> answerInlineQuery's parameters
        self._failures: dict[str, list[int]] = {}  # method -> [calls left to fail, retry_after, status]
        self._consumed: set[int] = set()
        self._blocked: dict[int, str] = {}  # chat id -> the 403 description
        self._deleted: set[int] = set()
        self.files: dict[str, tuple[str, bytes, int]] = {}  # file_id -> (file_path, content, file_size)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # set by start()
        self._connections: set[asyncio.Task[None]] = set()
        self._chats: dict[int, dict[str, Any]] = {}  # chat id -> the chat, as users' messages gave it
        self._listeners: list[Callable[[ApiCall], None]] = []
        self.last_update_id = 0  # the id of the update queued last
        self.queued: dict[int, dict[str, Any]] = {}  # every update ever queued, by id
        self.webhook: Webhook | None = None
        self.webhook_timeout_s = DEFAULT_WAIT_S
        self.deliveries: list[Delivery] = []
        self._webhook_routes: dict[str, int] = {}  # host -> port on 127.0.0.1
        self._delivering: set[int] = set()  # update ids being POSTed now
        self._retry_at: dict[int, float] = {}  # update id -> loop time of its next try
        self._attempts: dict[int, int] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._posts: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in [self._dispatcher, *self._posts]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._dispatcher = None
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the bot as ``telegram_api_url``."""
        assert self._server is not None, "start() the server first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # --- acting as Telegram users --------------------------------------------------------

    def _queue(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.last_update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self.queued[update_id] = self._updates[-1]
        self._notify()
        return update_id

    def _notify(self) -> None:
        """Wake every waiter; each re-checks what it waits for."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, check: Callable[[], T | None], timeout: float) -> T:
        """The first non-None ``check()``, re-checked on every change, within ``timeout``."""

        async def wait() -> T:
            while (found := check()) is None:
                await self._changed.wait()
            return found

        return await asyncio.wait_for(wait(), timeout)

    def _user_message(
        self, chat: FakeChat, user: FakeUser, reply_to: dict[str, Any] | None = None, **content: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat.to_json(),
            "from": user.to_json(),
            **content,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(chat.id, message["message_id"])] = message
        self._chats.setdefault(chat.id, message["chat"])
        return message

    def send_text(
        self,
        chat: FakeChat,
        user: FakeUser,
        text: str,
        *,
        reply_to: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user sends ``text``; entities are made as Telegram makes them unless given.

        ``queue=False`` only makes the message (for a test that posts it to a webhook).
        """
        content: dict[str, Any] = {"text": text}
        found = entities_for(text) if entities is None else entities
        if found:
            content["entities"] = found
        message = self._user_message(chat, user, reply_to=reply_to, **content)
        if queue:
            self._queue("message", message)
        return message

    def send_sticker(self, chat: FakeChat, user: FakeUser) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        message = self._user_message(chat, user, sticker=sticker)
        self._queue("message", message)
        return message

    def edit_text(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """The user edits one of their messages."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        if entities_for(text):
            edited["entities"] = entities_for(text)
        self.messages[(edited["chat"]["id"], edited["message_id"])] = edited
        self._queue("edited_message", edited)
        return edited

    def press_button(self, user: FakeUser, message: dict[str, Any], label: str) -> str:
        """The user taps the inline button labelled ``label`` under a bot message."""
        current = self.messages[(message["chat"]["id"], message["message_id"])]
        data = buttons(current).get(label)
        if data is None:
            raise KeyError(f"no button {label!r} under message {message['message_id']}: {list(buttons(current))}")
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        self._queue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_json(),
                "chat_instance": f"ci{message['chat']['id']}",
                "message": current,
                "data": data,
            },
        )
        return query_id

    def send_inline_query(self, user: FakeUser, query: str, chat_type: str = "supergroup") -> str:
        """The user types ``@bot query`` in a chat of ``chat_type``; returns the query's id
        (its answer: ``inline_answers[id]``, once ``answerInlineQuery`` came)."""
        query_id = f"iq{next(self._callback_ids)}"
        self._open_inline_queries.add(query_id)
        self._queue(
            "inline_query",
            {"id": query_id, "from": user.to_json(), "query": query, "offset": "", "chat_type": chat_type},
        )
        return query_id

    async def inline_answer(self, query_id: str, timeout: float = DEFAULT_WAIT_S) -> dict[str, Any]:
        """The ``answerInlineQuery`` parameters the bot answered ``query_id`` with (results
        checked as Telegram checks them), waiting for it."""
        return await self._wait_until(lambda: self.inline_answers.get(query_id), timeout)

    def choose_inline_result(
        self, user: FakeUser, chat: FakeChat, answer: dict[str, Any], result_id: str
    ) -> dict[str, Any]:
        """The user picks result ``result_id`` of an inline answer: its message appears in
        ``chat``, sent by the user "via" the bot, as Telegram posts it."""
        [result] = [r for r in answer["results"] if r["id"] == result_id]
        text, entities = self._check_text(self._content(result))
        extra: dict[str, Any] = {"via_bot": self.bot.to_json()}
        if entities:
            extra["entities"] = entities
        if result.get("reply_markup"):
            extra["reply_markup"] = result["reply_markup"]
        return self._user_message(chat, user, text=text, **extra)

    def send_document(
        self,
        chat: FakeChat,
        user: FakeUser,
        file_name: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        file_size: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; ``file_size`` can claim another size than ``len(content)``."""
        number = next(self._file_ids)
        file_id = f"BQACAgIAAxkBAAI{number:06d}"
        size = len(content) if file_size is None else file_size
        self.files[file_id] = (f"documents/file_{number}{Path(file_name).suffix}", content, size)
        document = {
            "file_id": file_id,
            "file_unique_id": f"AgAD{number:06d}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        message = self._user_message(chat, user, document=document)
        self._queue("message", message)
        return message

    def block_chat(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user") -> None:
        """From now on every message to ``chat_id`` is refused with 403, as when the user
        blocked the bot or the bot was removed from the group."""
        self._blocked[chat_id] = description

    def delete_chat(self, chat_id: int) -> None:
        """The chat no longer exists: 400 "Bad Request: chat not found"."""
        self._deleted.add(chat_id)

    def fail_next(self, method: str, times: int = 1, retry_after: int = 1, status: int = 429) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 Too Many Requests (and
        ``retry_after``), or with another ``status`` such as 502 Bad Gateway."""
        self._failures[method.lower()] = [times, retry_after, status]

    def route_webhook(self, host: str, port: int) -> None:
        """Webhook URLs on ``host`` are delivered to 127.0.0.1:``port`` in plain HTTP."""
        self._webhook_routes[host.lower()] = port

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet taken (by ``getUpdates`` offsets or a 2xx from the webhook)."""
        return len(self._updates)

    async def taken(self, update_id: int, timeout: float = DEFAULT_WAIT_S) -> None:
        """Wait until the bot has taken ``update_id``: confirmed by a later ``getUpdates``
        offset (long polling) or answered with a 2xx by the webhook, as Telegram then forgets it."""

        def gone() -> bool | None:
            return None if any(u["update_id"] == update_id for u in self._updates) else True

        try:
            await self._wait_until(gone, timeout)
        except TimeoutError:
            raise TimeoutError(f"update {update_id} not taken within {timeout} s") from None

    async def delivered(self, update_id: int, timeout: float = DEFAULT_WAIT_S) -> Delivery:
        """The delivery of ``update_id`` that the webhook answered with a 2xx."""

        def found() -> Delivery | None:
            return next((d for d in self.deliveries if d.update_id == update_id and d.ok), None)

        return await self._wait_until(found, timeout)

    # --- webhook delivery ----------------------------------------------------------------

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        """POST every due update, one per chat at a time, while a webhook is set."""
        loop = asyncio.get_running_loop()
        while self.webhook is not None:
            changed = self._changed
            now = loop.time()
            next_due: float | None = None
            chats_seen: set[object] = set()
            for update in list(self._updates):
                if len(self._delivering) >= self.webhook.max_connections:
                    break
                update_id = update["update_id"]
                chat = update_chat(update)
                key: object = chat if chat is not None else ("update", update_id)
                if key in chats_seen:
                    continue  # an earlier update of this chat goes first
                chats_seen.add(key)
                if update_id in self._delivering:
                    continue
                due = self._retry_at.get(update_id, 0.0)
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                self._delivering.add(update_id)
                task = loop.create_task(self._post_update(self.webhook, update))
                self._posts.add(task)
                task.add_done_callback(self._posts.discard)
            timeout = None if next_due is None else max(next_due - loop.time(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)

    async def _post_update(self, webhook: Webhook, update: dict[str, Any]) -> None:
        import httpx  # only webhooks need it

        update_id = update["update_id"]
        target = urlsplit(webhook.url)
        port = self._webhook_routes.get((target.hostname or "").lower())
        status, error = 0, ""
        try:
            if port is None:
                raise ConnectionError(f"no route to {target.hostname} (route_webhook it)")
            headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
            url = f"http://127.0.0.1:{port}{target.path or '/'}" + (f"?{target.query}" if target.query else "")
            async with httpx.AsyncClient(timeout=self.webhook_timeout_s, trust_env=False) as client:
                response = await client.post(url, json=update, headers=headers)
            status = response.status_code
        except (httpx.HTTPError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._delivering.discard(update_id)
        delivery = Delivery(update_id, status, error)
        self.deliveries.append(delivery)
        if delivery.ok:
            self._updates = [u for u in self._updates if u["update_id"] != update_id]
            self._retry_at.pop(update_id, None)
        else:
            attempts = self._attempts[update_id] = self._attempts.get(update_id, 0) + 1
            backoff = min(WEBHOOK_BACKOFF_S * 2 ** (attempts - 1), WEBHOOK_BACKOFF_MAX_S)
            self._retry_at[update_id] = asyncio.get_running_loop().time() + backoff
        self._notify()

    # --- watching the bot ----------------------------------------------------------------

    def add_listener(self, listener: Callable[[ApiCall], None]) -> Callable[[], None]:
        """Call ``listener(call)`` on the event loop for every call recorded from now on
        (as it is recorded, before the bot gets the answer). Returns a function that
        removes it. A listener must be quick and must not raise."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def calls_to(self, method: str, chat_id: int | None = None, *, ok: bool | None = True) -> list[ApiCall]:
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id) and (ok is None or call.ok == ok)
        ]

    async def next_call(self, method: str, chat_id: int | None = None, timeout: float = DEFAULT_WAIT_S) -> ApiCall:
        """The next successful ``method`` call (to ``chat_id``) not yet returned by this."""

        def unseen() -> ApiCall | None:
            for index, call in enumerate(self.calls):
                if (
                    index not in self._consumed
                    and call.ok
                    and call.method == method
                    and (chat_id is None or call.chat_id == chat_id)
                ):
                    self._consumed.add(index)
                    return call
            return None

        try:
            return await self._wait_until(unseen, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {method} to chat {chat_id} within {timeout} s") from None

    async def next_message(self, chat_id: int, timeout: float = DEFAULT_WAIT_S) -> dict[str, Any]:
        """The next message the bot sent to ``chat_id`` (as the Bot API returned it)."""
        call = await self.next_call("sendMessage", chat_id, timeout)
        result: dict[str, Any] = call.result
        return result

    # --- HTTP ------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                path, headers, body = request
                status, payload = await self._respond(path, headers, body)
                if isinstance(payload, bytes):  # a file download
                    data, content_type = payload, "application/octet-stream"
                else:
                    data, content_type = json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json"
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: {content_type}\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode("latin-1")
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # stop() cancels open connections; ending quietly keeps asyncio from logging it.
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line.strip():
            return None
        _method, target, _version = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readline()
            await reader.readline()
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return target, headers, body

    async def _respond(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | bytes]:
        path = unquote(urlsplit(target).path)
        download = re.fullmatch(r"/file/bot([^/]*)/(.+)", path)
        if download is not None:
            if download.group(1) != self.token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return self._download(download.group(2))
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match.group(1) != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = match.group(2)
        params = self._parameters(headers, body)
        try:
            failure = self._failures.get(method.lower())
            if failure and failure[0] > 0:
                failure[0] -= 1
                if failure[2] != 429:
                    raise ApiError(failure[2], "Bad Gateway" if failure[2] == 502 else "Internal Server Error")
                raise ApiError(429, f"Too Many Requests: retry after {failure[1]}", {"retry_after": failure[1]})
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            result = await handler(params)
        except ApiError as error:
            self._record(ApiCall(method, params, error.status, description=error.description))
            payload: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                payload["parameters"] = error.parameters
            return error.status, payload
        if method != "getUpdates":
            self._record(ApiCall(method, params, 200, result=result))
        return 200, {"ok": True, "result": result}

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        for listener in list(self._listeners):
            listener(call)
        self._notify()

    @staticmethod
    def _parameters(headers: dict[str, str], body: bytes) -> dict[str, Any]:
        content_type = headers.get("content-type", "")
        if not body:
            return {}
        if content_type.startswith("application/json"):
            loaded: dict[str, Any] = json.loads(body)
            return loaded
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise ValueError(f"unsupported content type {content_type!r}")
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        for name, value in list(params.items()):
            if name in _JSON_PARAMETERS:
                params[name] = json.loads(value)
            elif name in _BOOL_PARAMETERS and value in ("true", "false"):
                params[name] = value == "true"
            elif (name in _INT_PARAMETERS or name == "chat_id") and re.fullmatch(r"-?\d+", value):
                params[name] = int(value)
        return params

    # --- Bot API methods -------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = int(params.get("offset", 0) or 0)
        if offset > 0:  # confirms every update before offset, as Telegram does
            kept = [u for u in self._updates if u["update_id"] >= offset]
            if len(kept) != len(self._updates):
                self._updates = kept
                self._notify()  # for taken()
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self._wait_until(lambda: True if self._updates else None, timeout)
        return self._updates[:limit]

    def _check_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text")
        if text is None or not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        entities: list[dict[str, Any]] = []
        parse_mode = str(params.get("parse_mode") or "")
        if parse_mode.lower() == "html":
            try:
                text, entities = parse_html(text)
            except EntityParseError as error:
                raise ApiError(400, str(error)) from None
        elif parse_mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this fake")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if not isinstance(chat_id, int) or chat_id in self._deleted:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, self._blocked[chat_id])
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text, entities = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot.to_json(),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        reply = params.get("reply_parameters") or {}
        if "reply_to_message_id" in params:
            reply = {"message_id": int(params["reply_to_message_id"])}
        if reply:
            replied = self.messages.get((chat["id"], int(reply["message_id"])))
            if replied is not None:
                message["reply_to_message"] = replied
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _own_message(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params.get("chat_id"), params.get("message_id"))
        message = self.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot.id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        text, entities = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        edited = {**message, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        edited.pop("reply_markup", None)
        if entities:
            edited["entities"] = entities
        if markup:
            edited["reply_markup"] = markup
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        return edited

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        edited = {**message, "edit_date": int(time.time())}
        edited.pop("reply_markup", None)
        markup = self._check_markup(params.get("reply_markup"))
        if markup:
            edited["reply_markup"] = markup
        self.messages[(message["chat"]["id"], message["message_id"])] = edited
        return edited

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        return True

    @staticmethod
    def _content(result: dict[str, Any]) -> dict[str, Any]:
        """An inline result's message as ``sendMessage`` parameters."""
        content = result.get("input_message_content") or {}
        return {"text": content.get("message_text"), "parse_mode": content.get("parse_mode")}

    async def _api_answerinlinequery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._open_inline_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or not all(1 <= len(i.encode("utf-8")) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            if result.get("type") != "article" or not str(result.get("title", "")).strip():
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            self._check_text(self._content(result))  # the message as it will be posted
            self._check_markup(result.get("reply_markup"))
        button = params.get("button")
        if button is not None:
            parameter = str(button.get("start_parameter", ""))
            if not str(button.get("text", "")).strip() or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", parameter):
                raise ApiError(400, "Bad Request: BUTTON_INVALID")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = params
        return True

    async def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        self._chat(params.get("chat_id"))
        if params.get("action") not in {"typing", "upload_document", "upload_photo", "find_location"}:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        language_code = str(params.get("language_code") or "")
        if language_code and not re.fullmatch(r"[a-z]{2}", language_code):
            raise ApiError(400, "Bad Request: invalid language code specified")
        self.commands[menu_key(params.get("scope"), language_code)] = commands
        return True

    async def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(menu_key(params.get("scope"), str(params.get("language_code") or "")), [])

    async def _api_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(menu_key(params.get("scope"), str(params.get("language_code") or "")), None)
        return True

    def menu(self, scope: dict[str, Any] | None = None, language_code: str = "") -> dict[str, str]:
        """The command menu set for ``scope`` (default: the default scope) and
        ``language_code`` ("": every language): command -> description; {} when none was set."""
        return {c["command"]: c["description"] for c in self.commands.get(menu_key(scope, language_code), [])}

    async def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if str(params.get("drop_pending_updates", "")).lower() in {"true", "1"}:
            self._updates = []
        self._notify()
        return True

    async def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if not url:
            return await self._api_deletewebhook(params)
        if not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        self.webhook = Webhook(url, str(secret) if secret else None, int(params.get("max_connections") or 40))
        if str(params.get("drop_pending_updates", "")).lower() in {"true", "1"}:
            self._updates = []
        self._start_dispatcher()
        self._notify()
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        failed = [d for d in self.deliveries if not d.ok]
        if self.webhook and failed:
            info["last_error_message"] = failed[-1].error or f"Wrong response from the webhook: {failed[-1].status}"
        return info

    async def _api_getchat(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._chat(params.get("chat_id"))

    async def _api_getchatmember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id", 0))
        if user_id == self.bot.id:
            user = self.bot.to_json()
        else:
            senders = [m["from"] for m in self.messages.values() if m.get("from", {}).get("id") == user_id]
            if not senders:
                raise ApiError(400, "Bad Request: user not found")
            user = senders[0]
        if (chat["id"], user_id) in self.chat_admins:
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        return {"status": "member", "user": user}

    async def _api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, _content, size = self.files[file_id]
        if size > 20_000_000:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size, "file_path": path}

    def _download(self, path: str) -> tuple[int, dict[str, Any] | bytes]:
        for file_path, content, _size in self.files.values():
            if file_path == path:
                self._record(ApiCall("download", {"file_path": path}, 200))
                return 200, content
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    async def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_logout(self, params: dict[str, Any]) -> bool:
        return True
