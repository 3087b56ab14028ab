"""Articles prepared for a search backend: sentences, passages and their vectors.

Both backends index exactly this, so the local index and Milvus hold the same passages,
the same vectors quantised the same way, and cite the same sentences:

    prepared = embed_articles(articles, embedder, progress)
    prepared.passages            # Passage objects, with the text that was embedded
    prepared.sentence_rows       # per sentence: article position, start, end, paragraph, caption
    prepared.passage_rows        # per passage: article position, first and last sentence row
    prepared.passage_vectors     # float16; prepared.sentence_vectors: int8 with a scale per row
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.articles.passages import build_passages
from retrieval.articles.sentences import split_sentences
from retrieval.embedding.compact import CompactVectors, quantize_int8
from retrieval.embedding.embedder import Embedder
from retrieval.engine import Progress
from retrieval.models import Article, Passage, Sentence


@dataclass
class EmbeddedArticles:
    """Articles segmented and embedded, in row order (see the module docstring)."""

    articles: list[Article]
    passages: list[Passage]
    sentence_rows: np.ndarray  # int32 (sentences, 5)
    passage_rows: np.ndarray  # int32 (passages, 3)
    passage_vectors: CompactVectors
    sentence_vectors: CompactVectors
    embedded: int  # texts the model had to embed (the rest came from the cache)


def segment_articles(articles: Sequence[Article]) -> tuple[list[list[Sentence]], list[Passage]]:
    """Each article's sentences, and the passages of all of them (numbered in order)."""
    per_article: list[list[Sentence]] = []
    passages: list[Passage] = []
    for article in articles:
        sentences = split_sentences(article)
        per_article.append(sentences)
        passages.extend(build_passages(article, sentences, len(passages)))
    return per_article, passages


#: Passages whose span vectors are quantised at a time (bounds the float32 rows in memory).
_QUANTISE_PASSAGES = 4096


def _quantise_pooled(
    rows_per_passage: Sequence[range], pooled: list[list[np.ndarray | None]], sentences: int, dimension: int
) -> tuple[CompactVectors, np.ndarray]:
    """The int8 sentence vectors from span pooling: each sentence takes the vector of the
    first passage that pooled it. Quantised a batch of passages at a time, each passage's
    vectors let go once taken, so no float32 matrix of every sentence is made (4 GB at a
    million passages). Returns the codes and which sentences got a vector."""
    codes = np.zeros((sentences, dimension), dtype=np.int8)
    scales = np.ones(sentences, dtype=np.float32)
    has_vector = np.zeros(sentences, dtype=bool)
    for start in range(0, len(pooled), _QUANTISE_PASSAGES):
        rows: list[int] = []
        vectors: list[np.ndarray] = []
        for i in range(start, min(start + _QUANTISE_PASSAGES, len(pooled))):
            for r, vector in zip(rows_per_passage[i], pooled[i], strict=True):
                if vector is not None and not has_vector[r]:
                    rows.append(r)
                    vectors.append(vector)
                    has_vector[r] = True
            pooled[i] = []  # let this passage's vectors go
        if rows:
            codes[rows], scales[rows] = quantize_int8(np.stack(vectors).astype(np.float32, copy=False))
    return CompactVectors(codes, scales), has_vector


def embed_articles(
    articles: Sequence[Article], embedder: Embedder, progress: Progress | None = None
) -> EmbeddedArticles:
    """Segment and embed (through the cache) ``articles``, already in row order."""
    per_article, passages = segment_articles(articles)
    first_row: list[int] = []
    rows: list[tuple[int, int, int, int, int]] = []
    for article_i, sentences in enumerate(per_article):
        first_row.append(len(rows))
        rows.extend((article_i, s.start, s.end, s.paragraph, int(s.is_caption)) for s in sentences)
    sentence_rows = np.array(rows, dtype=np.int32).reshape(-1, 5)
    article_pos = {a.id: i for i, a in enumerate(articles)}
    passage_rows = np.array(
        [
            (
                article_pos[p.article_id],
                first_row[article_pos[p.article_id]] + p.first_sentence,
                first_row[article_pos[p.article_id]] + p.last_sentence,
            )
            for p in passages
        ],
        dtype=np.int32,
    ).reshape(-1, 3)

    sentence_texts = [s.text for sentences in per_article for s in sentences]
    embed_offset = 0  # embedding already reported, so the standalone pass after span pooling continues the count

    def on_embed(done: int, total: int) -> None:
        if progress:
            progress("embed", embed_offset + done, embed_offset + total)

    supports_span_pooling = getattr(embedder, "supports_span_pooling", None)
    if supports_span_pooling is None or not supports_span_pooling():
        texts = [p.text for p in passages] + sentence_texts
        vectors, embedded = embedder.encode_passages(texts, on_embed)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), embedder.dimension)
        passage_codes = CompactVectors.of_passages(vectors[: len(passages)])
        sentence_codes = CompactVectors.of_sentences(vectors[len(passages) :])
        del vectors
    else:
        # One forward pass per passage gives its vector and, by span pooling, a vector for each
        # of its sentences (retrieval/embedding/span_pooling.py); a sentence takes it from the first
        # passage that holds it whole. The rest (cut off by the model's maximum length, no
        # token of their own) are embedded on their own, as without span pooling.
        from retrieval.embedding.span_pooling import locate_spans

        layouts: list[tuple[range, list[tuple[int, int]]]] = []
        for p, (_, first, last) in zip(passages, passage_rows, strict=True):
            rows_of_p = range(int(first), int(last) + 1)
            title = articles[article_pos[p.article_id]].title
            spans = locate_spans(p.text, [sentence_texts[r] for r in rows_of_p], len(title) + 1)
            layouts.append((rows_of_p, spans) if spans is not None else (range(0), []))
        passage_vectors, pooled, embedded = embedder.encode_passages_with_spans(
            [p.text for p in passages], [spans for _, spans in layouts], on_embed
        )
        passage_codes = CompactVectors.of_passages(
            np.asarray(passage_vectors, dtype=np.float32).reshape(-1, embedder.dimension)
        )
        del passage_vectors
        sentence_codes, has_vector = _quantise_pooled(
            [rows_of_p for rows_of_p, _ in layouts], pooled, len(sentence_texts), embedder.dimension
        )
        del pooled, layouts
        alone = np.flatnonzero(~has_vector)
        embed_offset = embedded
        if len(alone):
            vectors, standalone = embedder.encode_passages([sentence_texts[r] for r in alone], on_embed)
            codes, scales = quantize_int8(np.asarray(vectors, dtype=np.float32).reshape(len(alone), -1))
            sentence_codes.codes[alone], sentence_codes.scales[alone] = codes, scales  # type: ignore[index]
            embedded += standalone
    del sentence_texts, per_article
    return EmbeddedArticles(
        list(articles), passages, sentence_rows, passage_rows, passage_codes, sentence_codes, embedded
    )
