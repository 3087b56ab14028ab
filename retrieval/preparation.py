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

from retrieval.articles.passages import build_passages, passage_windows, text_of_window
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
    passages: list[Passage]  # empty where embed_articles handed each block to take_passages
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


@dataclass
class _Rows:
    """Every article's sentences and passages as rows of numbers, their texts not kept: a
    text is sliced from its article when it is embedded or tokenised (at a million passages
    every passage's and sentence's text at once took about 3 GB)."""

    articles: Sequence[Article]
    sentence_rows: np.ndarray  # int32 (sentences, 5): article position, start, end, paragraph, caption
    passage_rows: np.ndarray  # int32 (passages, 3): article position, first and last sentence row
    first_rows: np.ndarray  # int64 (articles,): each article's first sentence row

    @classmethod
    def of(cls, articles: Sequence[Article]) -> _Rows:
        sentence_rows = array.array("i")
        passage_rows = array.array("i")
        first_rows = array.array("q")
        first_row = 0
        for article_i, article in enumerate(articles):
            sentences = split_sentences(article)
            for s in sentences:
                sentence_rows.extend((article_i, s.start, s.end, s.paragraph, int(s.is_caption)))
            for first, last in passage_windows(sentences):
                passage_rows.extend(
                    (article_i, first_row + sentences[first].position, first_row + sentences[last].position)
                )
            first_rows.append(first_row)
            first_row += len(sentences)
        return cls(
            articles,
            np.frombuffer(sentence_rows, dtype=np.int32).reshape(-1, 5).copy(),
            np.frombuffer(passage_rows, dtype=np.int32).reshape(-1, 3).copy(),
            np.frombuffer(first_rows, dtype=np.int64).copy(),
        )

    def sentence_texts(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        articles = self.articles
        return [articles[a].text[start:end] for a, start, end in self.sentence_rows[rows, :3].tolist()]

    def passages(self, block: range) -> list[Passage]:
        """The passages of ``block``, numbered as :func:`segment_articles` numbers them."""
        passages = []
        windows = self.passage_rows[block.start : block.stop].tolist()
        for i, (article_i, first, last) in zip(block, windows, strict=True):
            article = self.articles[article_i]
            text = text_of_window(article.title, self.sentence_texts(range(first, last + 1)))
            before = int(self.first_rows[article_i])
            passages.append(Passage(i, article.id, first - before, last - before, text))
        return passages


def embed_articles(
    articles: Sequence[Article],
    embedder: Embedder,
    progress: Progress | None = None,
    take_passages: Callable[[list[Passage]], None] | None = None,
) -> EmbeddedArticles:
    """Segment and embed (through the cache) ``articles``, already in row order: a block of
    :data:`EMBED_BLOCK_PASSAGES` passages at a time, each block's vectors stored compactly
    (passages float16, sentences int8) before the next is embedded.

    With ``take_passages``, each block's passages are handed to it once embedded and not
    kept (:attr:`EmbeddedArticles.passages` is then empty): the local build tokenises them,
    so no passage's text outlives its block."""
    rows = _Rows.of(articles)
    sentence_rows, passage_rows = rows.sentence_rows, rows.passage_rows
    n_passages, n_sentences = len(passage_rows), len(sentence_rows)
    kept: list[Passage] = []
    dimension = embedder.dimension
    passage_codes = np.empty((n_passages, dimension), dtype=PASSAGE_DTYPE)
    sentence_codes = _SentenceCodes(n_sentences, dimension)
    embedded = 0
    supports_span_pooling = getattr(embedder, "supports_span_pooling", None)
    span_pooling = supports_span_pooling is not None and bool(supports_span_pooling())
    # Without span pooling every sentence is embedded on its own; with it, only those no
    # passage pooled (cut off by the model's maximum length, no token of their own).
    steps = _EmbedProgress(progress, n_passages + (0 if span_pooling else n_sentences))
    for start in range(0, n_passages, EMBED_BLOCK_PASSAGES):
        block = range(start, min(start + EMBED_BLOCK_PASSAGES, n_passages))
        passages = rows.passages(block)
        texts = [p.text for p in passages]
        if span_pooling:
            # One forward pass per passage gives its vector and, by span pooling, a vector for
            # each of its sentences (retrieval/embedding/span_pooling.py).
            layouts: list[tuple[range, list[tuple[int, int]]]] = []
            for i, text in zip(block, texts, strict=True):
                rows_of_p = range(int(passage_rows[i, 1]), int(passage_rows[i, 2]) + 1)
                title = articles[int(passage_rows[i, 0])].title
                spans = locate_spans(text, rows.sentence_texts(rows_of_p), len(title) + 1)
                layouts.append((rows_of_p, spans) if spans is not None else (range(0), []))
            vectors, pooled, fresh = embedder.encode_passages_with_spans(
                texts, [spans for _, spans in layouts], steps.within(len(block))
            )
            sentence_codes.take_pooled([rows_of_p for rows_of_p, _ in layouts], pooled)
            del pooled, layouts
        else:
            vectors, fresh = embedder.encode_passages(texts, steps.within(len(block)))
        passage_codes[block.start : block.stop] = np.asarray(vectors, dtype=np.float32).reshape(-1, dimension)
        del vectors, texts
        embedded += fresh
        if take_passages is None:
            kept.extend(passages)
        else:
            take_passages(passages)
        del passages
        steps.finished(len(block))
    alone = np.flatnonzero(~sentence_codes.has_vector)
    if span_pooling and len(alone):
        steps.total += len(alone)
    for start in range(0, len(alone), EMBED_BLOCK_PASSAGES):
        rows_of_block = alone[start : start + EMBED_BLOCK_PASSAGES]
        vectors, fresh = embedder.encode_passages(rows.sentence_texts(rows_of_block), steps.within(len(rows_of_block)))
        sentence_codes.put(rows_of_block, np.asarray(vectors, dtype=np.float32).reshape(len(rows_of_block), -1))
        del vectors
        embedded += fresh
        steps.finished(len(rows_of_block))
    return EmbeddedArticles(
        list(articles),
        kept,
        sentence_rows,
        passage_rows,
        CompactVectors(passage_codes),
        sentence_codes.compact(),
        embedded,
    )
