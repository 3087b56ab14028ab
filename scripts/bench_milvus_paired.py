"""The local index and Milvus asked the same questions interleaved, one after the other with
the order alternating, so both see the same load on a shared machine (the bench times them one
after the other, minutes apart). Reuses the bench's index, questions and Milvus collections:

    HOPTAC_DATA_DIR=var PYTHONPATH=. python scripts/bench_milvus_paired.py 10000 DB.db OUT.json

where the bench ran before with ``--work-dir /tmp/m25/work --synthetic-vectors`` and
``HOPTAC_SEARCH_URL=DB.db`` (its ``bench_<size>_synthetic`` collections).
"""

import json
import sys
import time
from pathlib import Path

from hoptac.settings import Settings
from measure.bench.corpus import load_sample, make_questions
from measure.bench.latency import forget_queries
from measure.bench.runner import BenchConfig
from measure.bench.synthetic import SyntheticFillEmbedder
from measure.bench.timing import percentiles
from measure.bench.workspace import open_engine
from retrieval.local.engine import LocalEngine
from retrieval.milvus.engine import MilvusEngine
from retrieval.milvus.index import MilvusIndex
from retrieval.vietnamese.analyzer import Analyzer


def log(message: str) -> None:
    print(f"[paired {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(size: int, url: str, out: Path) -> None:
    base = Settings()
    jsonl = base.shared_data_dir / "news-vi" / "baomoi-2017.jsonl.gz"
    work = Path("/tmp/m25/work")
    config = BenchConfig(jsonl=jsonl, sizes=[size], work_dir=work, questions=200, synthetic=True, search_url=url)
    embedder = SyntheticFillEmbedder(LocalEngine(base.engine_config()).embedder())
    sample = load_sample(jsonl, size, log)
    count = sample.prefix(size)
    local = open_engine(base, work / f"{size}-synthetic", embedder)  # the bench's index, as it left it
    questions = make_questions(sample.articles[:count], config.warmup + config.questions)
    warmup, measured = questions[: config.warmup], questions[config.warmup :]
    prefix = f"bench_{size}_synthetic"
    milvus = MilvusIndex.connect(url, prefix, embedder.model_id, embedder.dimension, Analyzer(), embedder)
    remote = MilvusEngine(local.config, milvus, embedder)
    started = time.perf_counter()
    held = milvus.warm_up()  # as a replica's start does (in the background there)
    log(f"document frequencies {'held' if held else 'NOT held'} after {time.perf_counter() - started:.1f} s")
    for question in warmup:
        local.ask(question)
        remote.ask(question)
    times: dict[str, list[float]] = {"local": [], "milvus": []}
    same = 0
    log(f"{len(measured)} questions, interleaved")
    for i, question in enumerate(measured):
        answers = {}
        for name in ("local", "milvus") if i % 2 == 0 else ("milvus", "local"):
            engine = local if name == "local" else remote
            forget_queries(engine)
            started = time.perf_counter()
            answers[name] = engine.ask(question)
            times[name].append((time.perf_counter() - started) * 1000)
        a, b = answers["local"], answers["milvus"]
        same += (a.found, a.answer) == (b.found, b.answer)
    result: dict[str, object] = {
        "size": size,
        "url": url,
        "questions": len(measured),
        "local_ms": percentiles(times["local"]),
        "milvus_ms": percentiles(times["milvus"]),
        "same_answers": same,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    local_ms, milvus_ms = percentiles(times["local"]), percentiles(times["milvus"])
    result["p50_ratio"] = round(milvus_ms["p50"] / local_ms["p50"], 2)
    result["p95_ratio"] = round(milvus_ms["p95"] / local_ms["p95"], 2)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
