"""The news pipeline: new articles from their sources into the engine, by one path.

Sources: RSS/Atom feeds (:mod:`news_pipeline.feed_poll`), pages fetched by URL and files
sent by admins (:mod:`news_pipeline.uploads`), and the watched corpus folder
(:mod:`news_pipeline.watch`). Each hands its articles to
:class:`news_pipeline.ingestion.Ingestion`, which changes the index one change at a time
and then has the new articles announced. Nothing here knows python-telegram-bot.
"""
