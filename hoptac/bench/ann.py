"""Approximate search: recall@10 of the HNSW index against exact search, and both latencies.

The product switches its dense index to HNSW above a size threshold. Here the HNSW index is
built with the product's own ``DenseIndex.build`` on an index's passage vectors, and each
query's ten nearest passages are compared with those of an exact inner-product search
(``faiss.IndexFlatIP``) over the same vectors; each search is timed. With
``--synthetic-vectors`` random vectors are HNSW's hardest case, so recall is also measured on
the model's own vectors alone when there are enough of them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hoptac.bench.timing import percentiles

MIN_REAL_FOR_RECALL = 1_000  # real passage vectors needed to report recall on them alone


def exact_index(vectors: np.ndarray) -> Any:
    """An exact inner-product FAISS index over ``vectors``: what approximate search is judged by."""
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return exact


def measure_ann(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> dict[str, Any]:
    """Recall@k of the HNSW index the product uses above its size threshold, against exact search."""
    from retrieval.dense import DenseIndex, DenseIndexKind

    started = time.perf_counter()
    hnsw = DenseIndex.build(vectors, DenseIndexKind.HNSW)
    build_s = time.perf_counter() - started
    exact = exact_index(vectors)
    recalls, hnsw_ms, exact_ms = [], [], []
    for query in queries:
        t0 = time.perf_counter()
        ids, _ = hnsw.search(query, k)
        t1 = time.perf_counter()
        _, truth = exact.search(query.reshape(1, -1), k)
        t2 = time.perf_counter()
        recalls.append(len(set(ids.tolist()) & set(truth[0].tolist())) / k)
        hnsw_ms.append((t1 - t0) * 1000)
        exact_ms.append((t2 - t1) * 1000)
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "hnsw_ms": percentiles(hnsw_ms),
        "exact_ms": percentiles(exact_ms),
        "hnsw_build_s": round(build_s, 1),
    }
