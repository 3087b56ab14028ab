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

import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.articles.passages import build_passages
from retrieval.articles.sentences import split_sentences
from retrieval.embedding.compact import PASSAGE_DTYPE, CompactVectors, quantize_int8
from retrieval.embedding.embedder import Embedder
from retrieval.embedding.span_pooling import locate_spans
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


#: Passages embedded and stored compactly at a time (with their sentences): bounds the float32
#: vectors held at once, and the embedder's cache lookups. As one float32 matrix, a million
#: passages' and their sentences' vectors took 5.8 GB (docs/benchmarks.md, the build's memory).
EMBED_BLOCK_PASSAGES = 8192


class _SentenceCodes:
    """The int8 sentence vectors, filled a block of passages at a time."""

    def __init__(self, sentences: int, dimension: int) -> None:
        self.codes = np.zeros((sentences, dimension), dtype=np.int8)
        self.scales = np.ones(sentences, dtype=np.float32)
        self.has_vector = np.zeros(sentences, dtype=bool)

    def put(self, rows: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        if len(rows):
            self.codes[rows], self.scales[rows] = quantize_int8(np.asarray(vectors, dtype=np.float32))
            self.has_vector[rows] = True

    def take_pooled(self, rows_per_passage: Sequence[range], pooled: list[list[np.ndarray | None]]) -> None:
        """Span-pooled vectors: each sentence takes the vector of the first passage that
        pooled it (this block's or an earlier one's); each passage's vectors are let go once taken."""
        rows: list[int] = []
        vectors: list[np.ndarray] = []
        taken = set()
        for i, passage_rows in enumerate(rows_per_passage):
            for r, vector in zip(passage_rows, pooled[i], strict=True):
                if vector is not None and not self.has_vector[r] and r not in taken:
                    rows.append(r)
                    vectors.append(vector)
                    taken.add(r)
            pooled[i] = []
        if rows:
            self.put(rows, np.stack(vectors))

    def compact(self) -> CompactVectors:
        return CompactVectors(self.codes, self.scales)


class _EmbedProgress:
    """The embedder's progress within a block, reported as texts of the whole build done."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self.total = total
        self.done = 0  # texts of the blocks already embedded

    def within(self, block: int) -> Callable[[int, int], None] | None:
        if self._progress is None:
            return None
        progress, before = self._progress, self.done

        def report(done: int, to_compute: int) -> None:
            share = block if to_compute <= 0 else block * done // to_compute
            progress("embed", before + share, self.total)

        return report

    def finished(self, block: int) -> None:
        self.done += block
        if self._progress:
            self._progress("embed", self.done, self.total)


def embed_articles(
    articles: Sequence[Article], embedder: Embedder, progress: Progress | None = None
) -> EmbeddedArticles:
    """Segment and embed (through the cache) ``articles``, already in row order: a block of
    :data:`EMBED_BLOCK_PASSAGES` passages at a time, each block's vectors stored compactly
    (passages float16, sentences int8) before the next is embedded."""
    per_article, passages = segment_articles(articles)
    # Flat int32 arrays, not a tuple per row (2.75 million sentences at a million passages).
    rows = array.array("i")
    for article_i, sentences in enumerate(per_article):
        for s in sentences:
            rows.extend((article_i, s.start, s.end, s.paragraph, int(s.is_caption)))
    sentence_rows = np.frombuffer(rows, dtype=np.int32).reshape(-1, 5).copy()
    del rows
    first_row = np.cumsum([0] + [len(sentences) for sentences in per_article], dtype=np.int64)[:-1]
    article_pos = {a.id: i for i, a in enumerate(articles)}
    of_article = np.fromiter((article_pos[p.article_id] for p in passages), dtype=np.int64, count=len(passages))
    passage_rows = np.empty((len(passages), 3), dtype=np.int32)
    passage_rows[:, 0] = of_article
    passage_rows[:, 1] = first_row[of_article] + np.fromiter(
        (p.first_sentence for p in passages), dtype=np.int64, count=len(passages)
    )
    passage_rows[:, 2] = first_row[of_article] + np.fromiter(
        (p.last_sentence for p in passages), dtype=np.int64, count=len(passages)
    )
    del of_article, first_row
    sentence_texts = [s.text for sentences in per_article for s in sentences]
    del per_article
    dimension = embedder.dimension
    passage_codes = np.empty((len(passages), dimension), dtype=PASSAGE_DTYPE)
    sentence_codes = _SentenceCodes(len(sentence_texts), dimension)
    embedded = 0
    supports_span_pooling = getattr(embedder, "supports_span_pooling", None)
    span_pooling = supports_span_pooling is not None and bool(supports_span_pooling())
    # Without span pooling every sentence is embedded on its own; with it, only those no
    # passage pooled (cut off by the model's maximum length, no token of their own).
    steps = _EmbedProgress(progress, len(passages) + (0 if span_pooling else len(sentence_texts)))
    for start in range(0, len(passages), EMBED_BLOCK_PASSAGES):
        block = range(start, min(start + EMBED_BLOCK_PASSAGES, len(passages)))
        texts = [passages[i].text for i in block]
        if span_pooling:
            # One forward pass per passage gives its vector and, by span pooling, a vector for
            # each of its sentences (retrieval/embedding/span_pooling.py).
            layouts: list[tuple[range, list[tuple[int, int]]]] = []
            for i, text in zip(block, texts, strict=True):
                rows_of_p = range(int(passage_rows[i, 1]), int(passage_rows[i, 2]) + 1)
                title = articles[int(passage_rows[i, 0])].title
                spans = locate_spans(text, [sentence_texts[r] for r in rows_of_p], len(title) + 1)
                layouts.append((rows_of_p, spans) if spans is not None else (range(0), []))
            vectors, pooled, fresh = embedder.encode_passages_with_spans(
                texts, [spans for _, spans in layouts], steps.within(len(block))
            )
            sentence_codes.take_pooled([rows_of_p for rows_of_p, _ in layouts], pooled)
            del pooled, layouts
        else:
            vectors, fresh = embedder.encode_passages(texts, steps.within(len(block)))
        passage_codes[block.start : block.stop] = np.asarray(vectors, dtype=np.float32).reshape(-1, dimension)
        del vectors
        embedded += fresh
        steps.finished(len(block))
    alone = np.flatnonzero(~sentence_codes.has_vector)
    if span_pooling and len(alone):
        steps.total += len(alone)
    for start in range(0, len(alone), EMBED_BLOCK_PASSAGES):
        rows_of_block = alone[start : start + EMBED_BLOCK_PASSAGES]
        vectors, fresh = embedder.encode_passages(
            [sentence_texts[r] for r in rows_of_block], steps.within(len(rows_of_block))
        )
        sentence_codes.put(rows_of_block, np.asarray(vectors, dtype=np.float32).reshape(len(rows_of_block), -1))
        del vectors
        embedded += fresh
        steps.finished(len(rows_of_block))
    del sentence_texts
    return EmbeddedArticles(
        list(articles),
        passages,
        sentence_rows,
        passage_rows,
        CompactVectors(passage_codes),
        sentence_codes.compact(),
        embedded,
    )
