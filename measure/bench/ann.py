"""Approximate search: recall@10 of the HNSW index against exact search, and both latencies.

The product switches its dense index to HNSW above a size threshold. Where a size's index
is HNSW its own index is measured (8-bit codes, candidates re-scored with the stored
vectors); below the threshold an HNSW index is built with the product's own
``DenseIndex.build`` on the index's passage vectors. Each
query's ten nearest passages are compared with those of an exact inner-product search
(``faiss.IndexFlatIP``) over the same vectors; each search is timed. With
``--synthetic-vectors`` random vectors are HNSW's hardest case, so recall is also measured on
the model's own vectors alone when there are enough of them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from measure.bench.timing import percentiles

MIN_REAL_FOR_RECALL = 1_000  # real passage vectors needed to report recall on them alone


def exact_index(vectors: np.ndarray) -> Any:
    """An exact inner-product FAISS index over ``vectors``: what approximate search is judged by."""
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return exact


def measure_ann(vectors: Any, queries: np.ndarray, k: int = 10, index: Any = None) -> dict[str, Any]:
    """Recall@k of the HNSW index the product uses above its size threshold, against exact
    search over the same (stored) vectors. ``index``: the product's own HNSW index over
    ``vectors`` (nothing built); without it one is built with the product's ``DenseIndex.build``."""
    from retrieval.local.dense import DenseIndex, DenseIndexKind

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    started = time.perf_counter()
    hnsw = index if index is not None else DenseIndex.build(vectors, DenseIndexKind.HNSW)
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
        "product_index": index is not None,
    }
