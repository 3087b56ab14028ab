"""The cluster's ingest service: articles stored in PostgreSQL (the system of record) made
searchable by workers working its ingest queue (``HOPTAC_DATABASE_URL``).

- ``db_ingest``: files imported and stored in PostgreSQL as one batch, each article with its job
- ``worker``: claims jobs, embeds, writes to the search engine (Milvus, or the local index
  through the corpus folder) under one writer's lock (``hoptac worker``)
- ``database_engine``: the engine of such a deployment: answers with Milvus or the local
  index, changes the corpus through PostgreSQL (what the bot and ``hoptac ingest`` use)

Built from the settings by :mod:`hoptac.wiring`; imports neither :mod:`hoptac` nor :mod:`bot`.
"""
