"""The BM25 formula both backends score with: bm25s's "lucene" variant, computed by hoptac."""

from __future__ import annotations

import math

#: BM25 parameters: bm25s's defaults (its "lucene" variant), which this module computes itself.
K1 = 1.5


B = 0.75


def bm25_idf(document_frequency: int, documents: int) -> float:
    """bm25s's "lucene" idf: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))
