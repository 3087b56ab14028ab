"""Answer latency against its floor, and throughput with several askers at once.

**Latency** is the full ``ask`` path (query embedding, dense and lexical search, fusion,
sentence selection, found decision, JSON formatting), one question at a time after a
warm-up. Side by side, in the same loop and alternating which goes first, the **floor**:
one query embedding plus one exact FAISS search over the same passage vectors, the least
any dense answer could cost. Their ratio is the pipeline's overhead. The query-embedding
cache is emptied before each timed answer, so every question pays for its own embedding.

**Concurrency**: with ``k`` threads asking at once (each waits for its answer before taking
the next question), questions per second and the latency each asker saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from measure.bench.ann import exact_index
from measure.bench.timing import percentiles


def forget_queries(engine: Any) -> None:
    """Empty the query-embedding cache, so every timed question pays for its own embedding
    (test doubles without a cache have nothing to forget)."""
    forget = getattr(engine.embedder(), "forget_questions", None)
    if forget is not None:
        forget()


def ask_timed(engine: Any, question: str) -> tuple[float, bool]:
    """Milliseconds for one answer, JSON formatting included, and whether it was found."""
    started = time.perf_counter()
    answer = engine.ask(question)
    json.dumps(answer.to_json(), ensure_ascii=False)
    return (time.perf_counter() - started) * 1000, answer.found


def measure_latency(
    engine: Any, questions: Sequence[str], warmup: Sequence[str], floor_vectors: Any = None
) -> dict[str, Any]:
    """Full ask path and its floor (query embedding + exact FAISS search of ``floor_vectors``,
    by default the engine's own passage vectors), question by question."""
    from retrieval.answering.search import CANDIDATES

    embedder = engine.embedder()
    exact = exact_index(engine.index.passage_vectors if floor_vectors is None else floor_vectors)
    for question in warmup:
        engine.ask(question)
        exact.search(embedder.encode_raw([question], "query"), CANDIDATES)
    full: list[float] = []
    floor: list[float] = []
    found = 0
    for i, question in enumerate(questions):
        # Alternate which goes first so neither always runs on a warmer cache.
        for step in ("full", "floor") if i % 2 == 0 else ("floor", "full"):
            if step == "full":
                forget_queries(engine)
                elapsed, answered = ask_timed(engine, question)
                full.append(elapsed)
                found += answered
            else:
                started = time.perf_counter()
                exact.search(embedder.encode_raw([question], "query"), CANDIDATES)
                floor.append((time.perf_counter() - started) * 1000)
    full_p, floor_p = percentiles(full), percentiles(floor)
    return {
        "questions": len(questions),
        "found_share": round(found / max(len(questions), 1), 3),
        "ask_ms": full_p,
        "floor_ms": floor_p,
        "overhead_p50": round(full_p["p50"] / floor_p["p50"], 2) if floor_p["p50"] else None,
        "overhead_p95": round(full_p["p95"] / floor_p["p95"], 2) if floor_p["p95"] else None,
    }


def measure_concurrency(engine: Any, questions: Sequence[str], askers: Sequence[int]) -> list[dict[str, Any]]:
    """Questions/s and latency with ``k`` threads asking at once (each waits for its answer)."""
    results = []
    for k in askers:
        pending: Iterator[str] = iter(questions)
        lock = threading.Lock()
        latencies: list[float] = []
        forget_queries(engine)  # each question is new to the query cache, once per round

        def worker(
            pending: Iterator[str] = pending, lock: threading.Lock = lock, latencies: list[float] = latencies
        ) -> None:
            while True:
                with lock:
                    question = next(pending, None)
                if question is None:
                    return
                elapsed, _ = ask_timed(engine, question)
                with lock:
                    latencies.append(elapsed)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=k) as pool:
            for future in [pool.submit(worker) for _ in range(k)]:
                future.result()
        wall = time.perf_counter() - started
        results.append(
            {
                "askers": k,
                "questions": len(latencies),
                "questions_per_s": round(len(latencies) / wall, 2),
                "latency_ms": percentiles(latencies),
            }
        )
    return results
