"""The background a question is measured against to decide whether the corpus answers it.

Cosine similarities of e5 embeddings are compressed and shift with the question's form:
an English question or one typed without diacritics scores lower against everything. So
the found decision compares the best sentence with how well the question matches a fixed
set of varied everyday news sentences (``data/background.txt``): an answer must stand out
from that background, whatever the question's language or spelling.
"""

from __future__ import annotations

from importlib import resources
from typing import Protocol

import numpy as np

#: How many of the closest background sentences form the baseline.
BACKGROUND_TOP = 3


class _Encoder(Protocol):
    def encode_passages(self, texts: list[str]) -> tuple[np.ndarray, int]: ...


def background_sentences() -> list[str]:
    text = resources.files("retrieval").joinpath("data/background.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


class Background:
    """Embedded background sentences; ``baseline(query)`` is the query's typical similarity."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = vectors

    @classmethod
    def embed(cls, encoder: _Encoder) -> Background:
        vectors, _ = encoder.encode_passages(background_sentences())
        return cls(vectors)

    def baseline(self, query: np.ndarray) -> float:
        scores = self._vectors @ np.asarray(query, dtype=np.float32)
        top = np.sort(scores)[::-1][:BACKGROUND_TOP]
        return float(top.mean()) if top.size else 0.0
