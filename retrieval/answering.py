"""From a question to a grounded answer: passage search, sentence choice, the found decision.

    searcher = Searcher(analyzer)
    ranked = searcher.passages(index, question, query_vector)       # fused passage ranking
    answer = compose_answer(index, analyzer, question, query_vector, ranked, background.baseline(query_vector))

The answer text is only the chosen sentences, verbatim, each after its citation mark; the
one fixed sentence for "not found" is :data:`NOT_FOUND_MESSAGE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from retrieval.answer_types import expected_answer, offers_answer, question_words
from retrieval.fusion import DEFAULT_DENSE_WEIGHT, FusionMethod, fuse
from retrieval.index import LoadedIndex
from retrieval.lexical import Analyzer, QueryForm, QueryTerm
from retrieval.models import Answer, Citation

NOT_FOUND_MESSAGE = "Xin lỗi, không tìm thấy trong các bài viết thông tin trả lời câu hỏi này."
MAX_QUESTION_CHARS = 1000

#: How many passages each retriever proposes before fusion.
CANDIDATES = 50
#: How many fused passages contribute sentences to the answer.
ANSWER_PASSAGES = 4

# Sentence score = dense cosine + lexical coverage + passage rank + whether the sentence offers
# the kind of answer the question word asks for (retrieval/answer_types.py). The weights are
# a linear ranker fitted on xquad-vi: a softmax over each question's candidate sentences,
# trained to put the sentences holding the gold answer first (L2 0.01 on standardised
# features), scaled so the cosine weighs 1 and rounded. Fitted on half the xquad articles and
# measured on the other half (and vice versa), the first sentence holds the answer for 0.817
# of the questions against 0.804 with the previous hand-tuned weights (1, 0.35, 0.5, no
# answer type); the final weights are fitted on all of them. Sentence length, novelty,
# proximity of the question's words, bigram overlap and position added nothing held out.
SENTENCE_DENSE_WEIGHT = 1.0
SENTENCE_COVERAGE_WEIGHT = 0.18
SENTENCE_PASSAGE_WEIGHT = 0.29
SENTENCE_ANSWER_TYPE_WEIGHT = 0.078
#: Further sentences are quoted only when they score nearly as well as the first (on xquad-vi,
#: 1.5 sentences per answer on average).
FOLLOW_UP_MARGIN = 0.075
#: Two sentences sharing this much of their vocabulary say the same thing.
DUPLICATE_JACCARD = 0.7

# The found decision: a logistic score over the best sentence's margin above the background
# (see retrieval/background.py) and its coverage of the question's words, with separate
# slopes for questions typed with diacritics. Fitted on xquad-vi (answerable questions vs
# questions whose topic was removed, with and without diacritics) and the seed questions.
FOUND_WEIGHTS = (30.4, 9.0, 11.6, -5.2)  # margin, coverage, accented*margin, accented*coverage
FOUND_BIAS = -2.98
FOUND_THRESHOLD = 0.5
#: English questions rarely share words with Vietnamese text: they rely mostly on the margin.
ENGLISH_MIN_EVIDENCE = -0.005
ENGLISH_COVERAGE_WEIGHT = 0.1


class QuestionError(ValueError):
    """The question cannot be asked (empty or too long); the message is for the user."""


_MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,200}>")


def check_question(question: str) -> str:
    """The text to search for: whitespace collapsed and pasted HTML tags dropped (the
    question itself is echoed verbatim). Raises QuestionError if nothing is left."""
    text = " ".join(_MARKUP.sub(" ", question).split())
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text)} characters long; ask in at most {MAX_QUESTION_CHARS}")
    return text


@dataclass(frozen=True)
class RankedPassage:
    passage: int
    fused: float
    dense: float  # cosine with the query
    lexical: float  # BM25


class Searcher:
    """Hybrid passage search over one :class:`LoadedIndex`."""

    def __init__(
        self,
        analyzer: Analyzer,
        method: FusionMethod = FusionMethod.WEIGHTED,
        dense_weight: float = DEFAULT_DENSE_WEIGHT,
    ) -> None:
        self.analyzer = analyzer
        self.method = method
        self.dense_weight = dense_weight

    def passages(
        self, index: LoadedIndex, question: str, query: np.ndarray, k: int = CANDIDATES
    ) -> list[RankedPassage]:
        dense_ids, dense_scores = index.dense.search(query, k)
        dense = {int(i): float(s) for i, s in zip(dense_ids, dense_scores, strict=True)}
        bm25_all = index.lexical.scores(self.analyzer.query_tokens(question))
        lexical: dict[int, float] = {}
        if bm25_all.size and bm25_all.max() > 0:
            top = np.argpartition(-bm25_all, min(k, len(bm25_all) - 1))[:k]
            lexical = {int(i): float(bm25_all[i]) for i in top if bm25_all[i] > 0}
        # Score every candidate on both sides exactly, so fusion never guesses a missing score.
        for pid in lexical.keys() - dense.keys():
            dense[pid] = float(np.dot(index.passage_vectors[pid], query))
        for pid in dense.keys() - lexical.keys():
            lexical[pid] = float(bm25_all[pid]) if bm25_all.size else 0.0
        fused = fuse(dense, lexical, self.method, self.dense_weight)
        return [RankedPassage(pid, score, dense[pid], lexical.get(pid, 0.0)) for pid, score in fused]


@dataclass
class _Candidate:
    row: int
    score: float
    cosine: float
    coverage: float
    published: datetime | None
    words: frozenset[str]


def _coverage(weighted_terms: list[tuple[QueryTerm, float]], present: set[str]) -> float:
    """IDF-weighted share of the question's words (or their expansions) among ``present`` tokens."""
    total = sum(w for _, w in weighted_terms)
    return sum(w for term, w in weighted_terms if term.present_in(present)) / total if total else 0.0


def _newer(a: datetime | None, b: datetime | None) -> bool:
    if a is None:
        return False
    return b is None or a > b


def rank_sentences(
    index: LoadedIndex,
    analyzer: Analyzer,
    question: str,
    query: np.ndarray,
    ranked: list[RankedPassage],
) -> list[_Candidate]:
    """Sentences of the best passages, best first, near-duplicates merged (newer article kept)."""
    top = ranked[:ANSWER_PASSAGES]
    if not top:
        return []
    best_fused = top[0].fused or 1.0
    passage_weight: dict[int, float] = {}
    for item in top:
        for row in index.passage_sentences(item.passage):
            passage_weight[row] = max(passage_weight.get(row, 0.0), item.fused / best_fused)
    rows = sorted(passage_weight)
    cosines = np.asarray(index.sentence_vectors[rows], dtype=np.float32) @ query
    # The question's weights are the same for every sentence: compute them once.
    weighted_terms = [(term, index.lexical.idf(term.token)) for term in analyzer.content_terms(question)]
    kind = expected_answer(question)
    given = question_words(question)
    candidates: list[_Candidate] = []
    for row, cosine in zip(rows, cosines, strict=True):
        sentence = index.sentence(row)
        tokens = analyzer.word_tokens(sentence.text)
        coverage = _coverage(weighted_terms, set(tokens))
        offers = offers_answer(kind, sentence.text, given)
        score = (
            SENTENCE_DENSE_WEIGHT * float(cosine)
            + SENTENCE_COVERAGE_WEIGHT * coverage
            + SENTENCE_PASSAGE_WEIGHT * passage_weight[row]
            + SENTENCE_ANSWER_TYPE_WEIGHT * offers
        )
        words = frozenset(tokens[::2])
        article = index.article_of_sentence(row)
        candidates.append(_Candidate(row, score, float(cosine), coverage, article.published, words))
    candidates.sort(key=lambda c: (-c.score, c.row))
    kept: list[_Candidate] = []
    for cand in candidates:
        twin = next((k for k in kept if _jaccard(k.words, cand.words) >= DUPLICATE_JACCARD), None)
        if twin is None:
            kept.append(cand)
        elif _newer(cand.published, twin.published):
            kept[kept.index(twin)] = _Candidate(
                cand.row, twin.score, cand.cosine, cand.coverage, cand.published, cand.words
            )
    return kept


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def is_found(best: _Candidate, baseline: float, form: QueryForm) -> bool:
    """Whether the best sentence really answers: it must stand out from the background
    (``baseline``) in meaning and share the question's words."""
    margin = best.cosine - baseline
    if form == QueryForm.ENGLISH:
        return margin + ENGLISH_COVERAGE_WEIGHT * best.coverage >= ENGLISH_MIN_EVIDENCE
    accented = 1.0 if form == QueryForm.ACCENTED else 0.0
    features = (margin, best.coverage, accented * margin, accented * best.coverage)
    score = FOUND_BIAS + sum(w * f for w, f in zip(FOUND_WEIGHTS, features, strict=True))
    return score >= FOUND_THRESHOLD


def citation_for(index: LoadedIndex, candidate: _Candidate) -> Citation:
    sentence = index.sentence(candidate.row)
    article = index.article_of_sentence(candidate.row)
    return Citation(
        article_id=article.id,
        title=article.title,
        published=article.published.isoformat() if article.published else None,
        source=article.source,
        url=article.url,
        sentence=sentence.text,
        start=sentence.start,
        end=sentence.end,
        score=candidate.score,
        is_caption=sentence.is_caption,
    )


def compose_answer(
    index: LoadedIndex,
    analyzer: Analyzer,
    question: str,
    query: np.ndarray,
    ranked: list[RankedPassage],
    baseline: float,
    limit: int = 3,
    offset: int = 0,
) -> Answer:
    """The grounded answer: up to ``limit`` sentences after skipping ``offset``, or not found."""
    candidates = rank_sentences(index, analyzer, question, query, ranked)
    articles = tuple(dict.fromkeys(index.article_of_passage(r.passage).id for r in ranked))
    if not candidates or not is_found(candidates[0], baseline, analyzer.query_form(question)):
        return Answer(question, False, NOT_FOUND_MESSAGE, (), ranked_articles=articles)
    best = candidates[0].score
    chosen = [c for c in candidates if c.score >= best - FOLLOW_UP_MARGIN or offset > 0]
    chosen = chosen[offset : offset + limit]
    if not chosen:
        return Answer(question, False, NOT_FOUND_MESSAGE, (), ranked_articles=articles)
    citations = tuple(citation_for(index, c) for c in chosen)
    text = "\n".join(f"[{i}] {c.sentence}" for i, c in enumerate(citations, start=1))
    return Answer(question, True, text, citations, ranked_articles=articles)
