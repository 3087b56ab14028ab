"""The measuring tools, beside the product: ``hoptac bench``, ``hoptac eval``, ``hoptac loadtest``.

- ``bench``: latency, throughput, ingest, cold start and memory at several corpus sizes
- ``evaluation``: retrieval and answer quality on a SQuAD-format file
- ``loadtest``: simulated users through the real bot and the fake Bot API, in this process
- ``replica_loadtest``: questions per second through N bot processes against one
- ``commands``: their commands, which ``hoptac`` finds through the ``hoptac.commands``
  entry points (``pyproject.toml``)

Nothing of the product imports this package (an import-linter contract); matplotlib, a
development dependency, is imported only here. Data sets come from options whose defaults
are in the shared data folder (``HOPTAC_SHARED_DATA_DIR``), never from where this code lies.
"""
