"""``--synthetic-vectors``: random vectors where the embedding cache has none, and how many there are.

Embedding a large corpus with the model takes hours on a small machine. With this option the
benchmark's embedder returns a passage's cached vector when the embedding cache holds one,
and otherwise a deterministic random unit vector (seeded by the text's SHA-256); queries,
and a new article's text, still go through the model. Latency, memory and size figures stay
meaningful; recall figures do not, so the report says what share of an index's vectors did
not come from the model, counted against the cache whatever run built the index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.embedding.embedder import Embedder
from retrieval.vietnamese.text import nfc

if TYPE_CHECKING:
    from retrieval.local.index import LoadedIndex


class SyntheticFillEmbedder(Embedder):
    """The real model for queries and cached passages; random unit vectors for the rest.

    Nothing synthetic is written to the embedding cache. Sentence vectors are taken the same
    way (cached or random), whatever the setting ``sentence_vectors``: no span pooling."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real._model, real.name, real._cache, real._batch_size, real.sentence_vectors)
        self.synthetic = 0
        self.real = 0
        self.model_embedder = real  # for work that must really run the model (a new article)
        # Questions are the model's own, so with the selector's vector as in production.
        self.selector = real.selector

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        cached = self.cached_vectors(texts)
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            vector = cached.get(text)
            if vector is None:
                seed = int.from_bytes(hashlib.sha256(nfc(text).encode()).digest()[:8], "little")
                vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
                vector /= np.linalg.norm(vector)
                self.synthetic += 1
            else:
                self.real += 1
            matrix[row] = vector
        return matrix, 0

    def supports_span_pooling(self) -> bool:
        return False


@dataclass(frozen=True)
class SyntheticCount:
    """How much of an index was filled with random vectors."""

    passage_share: float  # of the distinct live passage texts
    share: float  # of the distinct live passage and sentence texts together
    real_rows: list[int]  # live passage rows whose text the embedding cache holds
    live_passages: int


def count_synthetic(index: LoadedIndex, embedder: Embedder) -> SyntheticCount:
    """Whatever run built ``index``: a vector the embedding cache does not hold was synthetic."""
    from retrieval.articles.passages import passage_text

    live_passages = [p for p in range(len(index.passage_rows)) if index.is_live_passage(p)]
    passage_texts = [
        passage_text(index.article_of_passage(p), [index.sentence(r) for r in index.passage_sentences(p)])
        for p in live_passages
    ]
    sentence_rows = [r for r in range(len(index.sentence_rows)) if index.article_live[index.sentence_rows[r, 0]]]
    sentence_texts = [index.sentence(r).text for r in sentence_rows]
    cached = embedder.cached_vectors(passage_texts)
    real_rows = [p for p, text in zip(live_passages, passage_texts, strict=True) if text in cached]
    real_passages = len(cached)
    real_sentences = len(embedder.cached_vectors(sentence_texts))
    return SyntheticCount(
        passage_share=round(1 - real_passages / max(len(set(passage_texts)), 1), 3),
        share=round(
            1 - (real_passages + real_sentences) / max(len(set(passage_texts)) + len(set(sentence_texts)), 1), 3
        ),
        real_rows=real_rows,
        live_passages=len(live_passages),
    )
