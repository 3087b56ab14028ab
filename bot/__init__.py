"""The Telegram bot: Telegram updates in, grounded answers out.

Knows nothing about embeddings or vector indexes: it talks only to the answer engine,
through :class:`bot.engine_client.EngineClient`, off the event loop.

- ``app``: builds the Application (every handler in one place) and runs it (``hoptac bot``)
- ``handlers``: one small async function per thing a user does
- ``addressing``: whether a group message is meant for the bot, and the question in it
- ``format``: answers, sources, help and status as Telegram HTML; splitting long messages
- ``sending``: replies in as many messages as needed; "typing…" while working
- ``keyboards``, ``answer_pages``: the buttons under an answer and what they refer to
- ``engine_client``: the engine's blocking calls, run in worker threads
- ``reindex``: the admin's background reindex with progress; one index change at a time
- ``feedback``: 👍/👎 with the question, in SQLite
- ``throttle``: per-user question limit
- ``delivery``: flood-limit waits and network retries for every Bot API call
- ``config``, ``redact``, ``deps``: validated settings, token-free logs, shared objects

New articles and notifications (docs/notifications.md):

- ``jobs``: the background jobs (index refresh, sending, folder watch, feed polling)
- ``ingestion``: every change the bot makes to the corpus, then announced
- ``watch``: files dropped into the corpus folder
- ``feeds``, ``feed_poll``, ``feed_store``, ``fetch``: RSS/Atom parsing, polling, state, HTTP
- ``uploads``: admins' ``/add URL`` and documents
- ``subscriptions``: who hears about new articles, and who may decide
- ``outbox``, ``notifier``, ``digest``: exactly-once notifications and their text
- ``database``: the SQLite database in ``data_dir``
"""
