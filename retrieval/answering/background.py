"""The background a question is measured against to decide whether the corpus answers it.

Cosine similarities of e5 embeddings are compressed and shift with the question's form:
an English question or one typed without diacritics scores lower against everything. So
the found decision compares the best sentence with how well the question matches a fixed
set of varied everyday news sentences (``data/background.txt``): an answer must stand out
from that background, whatever the question's language or spelling.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Protocol

import numpy as np

from retrieval.embedding.span_pooling import Span

#: How many of the closest background sentences form the baseline.
BACKGROUND_TOP = 3
#: The background sentences are embedded the way the index embeds article sentences: in
#: passages of about this many characters under a title, each sentence pooled from its
#: own tokens (see :mod:`retrieval.embedding.span_pooling`) when the model allows it.
BACKGROUND_TITLE = "Tin tức"
BACKGROUND_PASSAGE_CHARS = 600


class _Encoder(Protocol):
    def encode_passages(self, texts: list[str]) -> tuple[np.ndarray, int]: ...


def _background_passages(sentences: Sequence[str]) -> list[tuple[str, list[Span], list[int]]]:
    """(passage text, sentence spans in it, sentence positions) windows over ``sentences``."""
    passages: list[tuple[str, list[Span], list[int]]] = []
    text, spans, members = BACKGROUND_TITLE, list[Span](), list[int]()
    for i, sentence in enumerate(sentences):
        if members and len(text) + 1 + len(sentence) > len(BACKGROUND_TITLE) + 1 + BACKGROUND_PASSAGE_CHARS:
            passages.append((text, spans, members))
            text, spans, members = BACKGROUND_TITLE, list[Span](), list[int]()
        text += "\n" if not members else " "
        spans.append((len(text), len(text) + len(sentence)))
        text += sentence
        members.append(i)
    if members:
        passages.append((text, spans, members))
    return passages


def embed_like_index_sentences(encoder: _Encoder, sentences: Sequence[str]) -> np.ndarray:
    """Vectors of ``sentences`` made as the index makes article sentences' vectors."""
    supports = getattr(encoder, "supports_span_pooling", None)
    if supports is None or not supports():
        standalone, _ = encoder.encode_passages(list(sentences))
        return standalone
    passages = _background_passages(sentences)
    _, pooled, _ = encoder.encode_passages_with_spans(  # type: ignore[attr-defined]
        [text for text, _, _ in passages], [spans for _, spans, _ in passages]
    )
    found: list[np.ndarray | None] = [None] * len(sentences)
    for (_, _, members), span_vectors in zip(passages, pooled, strict=True):
        for i, vector in zip(members, span_vectors, strict=True):
            found[i] = vector
    missing = [i for i, v in enumerate(found) if v is None]
    if missing:
        fallback, _ = encoder.encode_passages([sentences[i] for i in missing])
        for i, vector in zip(missing, fallback, strict=True):
            found[i] = vector
    return np.vstack([np.asarray(v, dtype=np.float32) for v in found])


def background_sentences() -> list[str]:
    text = resources.files("retrieval.answering").joinpath("data/background.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


class Background:
    """Embedded background sentences; ``baseline(query)`` is the query's typical similarity."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = vectors

    @classmethod
    def embed(cls, encoder: _Encoder) -> Background:
        return cls(embed_like_index_sentences(encoder, background_sentences()))

    def baseline(self, query: np.ndarray) -> float:
        scores = self._vectors @ np.asarray(query, dtype=np.float32)
        top = np.sort(scores)[::-1][:BACKGROUND_TOP]
        return float(top.mean()) if top.size else 0.0
