"""The Telegram front end: Telegram updates in, grounded answers out.

Knows nothing about embeddings or vector indexes: it talks to the answer engine through
:class:`bot.engine_client.EngineClient`, off the event loop, hands new articles to the
news pipeline and sends notifications that :mod:`notifications` composes. It is built
from the settings by :mod:`hoptac.wiring`.

- ``app``: builds the Application (every handler and job in one place) and serves it
- ``handlers``: one small async function per thing a user does
- ``jobs``: the background jobs (index refresh, sending notifications, folder watch, feeds)
- ``addressing``: whether a group message is meant for the bot, and the question in it
- ``format``: answers, sources, help and status as Telegram HTML
- ``sending``: replies in as many messages as needed; "typing…" while working
- ``keyboards``: the buttons under an answer (their pages live in the state store)
- ``documents``: admins' files, downloaded from Telegram and handed to the pipeline
- ``permissions``: who may switch notifications on or off in a chat
- ``notifying``: what a failed Telegram send means for a notification
- ``engine_client``: the engine's blocking calls, run in worker threads
- ``reindex``: the admin's background reindex with progress; one index change at a time
- ``throttle``: per-user question limit
- ``delivery``: flood-limit waits and network retries for every Bot API call
- ``config``, ``redact``, ``deps``: validated configuration, token-free logs, shared objects
- ``testing``: the fake Bot API server the tests and the load test drive the bot with
"""
