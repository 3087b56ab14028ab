"""The same questions answered from Milvus, beside the local index, in the same run.

With ``HOPTAC_SEARCH_URL`` set, each size's articles are also written to Milvus collections
of their own (``bench_<size>``, kept between runs like the local index) and asked the same
questions through :class:`retrieval.milvus.engine.MilvusEngine`: latency against the same
floor (query embedding + exact search of the local vectors), and how many answers are the
same as the local engine's. On Milvus Lite 3 this measures hoptac's client path and the
protocol, not Milvus's own speed (Lite 3 is a pure-Python engine behind the Milvus API);
milvus-lite 2.5 (with a pymilvus 2.6 client) runs the Milvus server's C++ core in one process.
The client's and milvus-lite's versions are recorded (``client``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from measure.bench.corpus import Log
from measure.bench.latency import measure_latency
from retrieval.embedding.embedder import Embedder


def _version(package: str) -> str | None:
    """The installed version of ``package``, None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


#: Articles embedded and written per batch.
WRITE_BATCH = 2000
_CLIENTS: dict[str, Any] = {}


def bench_milvus(
    local: Any,
    search_url: str,
    prefix: str,
    embedder: Embedder,
    questions: Sequence[str],
    warmup: Sequence[str],
    log: Log,
) -> dict[str, Any]:
    """Write ``local``'s live articles to Milvus (unless already there) and time the same questions."""
    from retrieval.milvus.engine import MilvusEngine
    from retrieval.milvus.index import MilvusIndex
    from retrieval.vietnamese.analyzer import Analyzer

    if search_url not in _CLIENTS:  # one connection for the whole run (Milvus Lite serves a folder once)
        _CLIENTS[search_url] = MilvusIndex.connect(search_url, prefix, embedder.model_id, embedder.dimension,
                                                   Analyzer(), embedder).client  # fmt: skip
    milvus = MilvusIndex(_CLIENTS[search_url], prefix, embedder.model_id, embedder.dimension, Analyzer(), embedder)
    index = local.index
    result: dict[str, Any] = {"url": search_url if search_url.endswith(".db") else "server", "prefix": prefix}
    result["client"] = {name: _version(name) for name in ("pymilvus", "milvus-lite")}
    wanted = {index.article_ids[i] for i in index.article_index.values()}
    if not milvus.usable() or set(milvus.indexed()) != wanted:
        articles = index.live_articles()
        log(f"milvus {prefix}: writing {len(articles):,} articles")
        started = time.perf_counter()
        first = True
        for start in range(0, len(articles), WRITE_BATCH):
            prepared = milvus.prepare(articles[start : start + WRITE_BATCH])
            if first:
                milvus.rebuild(prepared)
                first = False
            else:
                milvus.put(prepared)
            log(f"milvus {prefix}: {min(start + WRITE_BATCH, len(articles)):,}/{len(articles):,} articles")
        result["write_s"] = round(time.perf_counter() - started, 1)
    engine = MilvusEngine(local.config, milvus, embedder)
    result["counts"] = milvus.counts()
    if search_url.endswith(".db"):  # Milvus Lite: its folder (3.x) or file (2.5), every prefix in it, on disk
        path = Path(search_url)
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        result["lite_disk_bytes"] = sum(f.stat().st_size for f in files)
    log(f"milvus {prefix}: latency over {len(questions)} questions")
    result["latency"] = measure_latency(engine, questions, warmup, floor_vectors=index.passage_vectors)
    same = 0
    for question in questions:
        a, b = local.ask(question), engine.ask(question)
        same += (a.found, a.answer) == (b.found, b.answer)
    result["same_answer_share"] = round(same / max(len(questions), 1), 3)
    return result
