"""From a question to a grounded answer: passage search, sentence choice, the found decision.

    searcher = Searcher(analyzer)
    ranked = searcher.passages(index, question, query_vector)       # fused passage ranking
    answer = compose_answer(index, analyzer, question, query_vector, ranked, background.baseline(query_vector))

The answer text is only the chosen sentences, verbatim, each after its citation mark; the
one fixed sentence for "not found" is :data:`NOT_FOUND_MESSAGE`. A found answer is
confident or only related (``Answer.confidence``, decided in retrieval/answering/confidence.py from
:func:`answer_evidence`); a further quote must earn its place (:func:`earns_place`).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from retrieval.answering.confidence import GAP_CAP, Evidence, confidence_of, names_share, question_names
from retrieval.answering.search import RankedPassage
from retrieval.answering.search_index import SearchIndex
from retrieval.embedding.embedder import Embedder, sentence_vectors_of
from retrieval.models import Answer, Citation
from retrieval.vietnamese.admin_units import unit_notes
from retrieval.vietnamese.analyzer import Analyzer, QueryForm, QueryTerm, RelatedPlaces
from retrieval.vietnamese.answer_types import answer_type_evidence, expected_answer, offers_answer, question_words
from retrieval.vietnamese.subject import shares_subject
from retrieval.vietnamese.text import fold
from retrieval.vietnamese.text import words as text_words

NOT_FOUND_MESSAGE = "Xin lỗi, không tìm thấy trong các bài viết thông tin trả lời câu hỏi này."


#: How many fused passages contribute sentences to the answer; with the answer selector, which
#: tells a passage's sentences apart better, more (on ViQuAD 1.0 dev the answer is among the
#: sentences of the top 4 passages for 0.940 of the questions, of the top 6 for 0.959).
ANSWER_PASSAGES = 4
SELECTOR_ANSWER_PASSAGES = 6
#: What a search engine must fetch the sentences of, whichever applies.
MOST_ANSWER_PASSAGES = max(ANSWER_PASSAGES, SELECTOR_ANSWER_PASSAGES)


def answer_passages(selection: Selection | None) -> int:
    """How many of the best passages the answer's sentences come from."""
    return ANSWER_PASSAGES if selection is None else SELECTOR_ANSWER_PASSAGES


#: When the question asks for the latest news, sentences of articles newer than the best
#: sentence's within this many follow-up margins of it may be quoted too (newest first).
RECENT_MARGIN_FACTOR = 2.0


@dataclass(frozen=True)
class AnswerWeights:
    dense: float
    coverage: float
    passage: float
    answer_type: float
    #: Further sentences are quoted only when they score nearly as well as the first.
    follow_up_margin: float
    #: margin, coverage, accented*margin, accented*coverage, accented
    found: tuple[float, float, float, float, float]
    found_bias: float
    #: English questions rarely share words with Vietnamese text: they rely mostly on the margin.
    english_min_evidence: float
    english_coverage: float = 0.1
    #: With the answer selector: its score's weight in the sentence score, and in the found
    #: decision (as typed, and times accented).
    selector: float = 0.0
    found_selector: tuple[float, float] = (0.0, 0.0)
    #: With the answer selector: the share of the question's word pairs the sentence has
    #: (word order, which counts most for questions typed without diacritics), and the
    #: previous sentence's coverage of the question (it may name what this one answers).
    phrase: float = 0.0
    previous: float = 0.0

    def ranking(self, columns: int = 7) -> np.ndarray:
        """The sentence score's weights, in :func:`sentence_features` column order, for the
        first ``columns`` (4 without the selector; with it, its score, the phrase share and
        the previous sentence's coverage too)."""
        weights = [
            self.dense, self.coverage, self.passage, self.answer_type, self.selector, self.phrase, self.previous,
        ]  # fmt: skip
        return np.array(weights[:columns], dtype=np.float64)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Sentence scores from :func:`sentence_features` rows."""
        return features @ self.ranking(features.shape[1])


WEIGHTS = {
    # xquad-vi: first sentence holds the answer 0.793, any quoted one 0.877 (1.5 sentences an answer)
    "standalone": AnswerWeights(
        dense=1.0,
        coverage=0.18,
        passage=0.29,
        answer_type=0.078,
        follow_up_margin=0.075,
        found=(30.4, 9.0, 11.6, -5.2, 0.0),
        found_bias=-2.98,
        english_min_evidence=-0.005,
    ),
    # xquad-vi, fitted by scripts/fit_answer_weights.py --sentence-vectors span
    "span": AnswerWeights(
        dense=1.0,
        coverage=0.16,
        passage=0.135,
        answer_type=0.065,
        follow_up_margin=0.043,
        # a class-balanced logistic regression, found where its logit is >= 0 (accented: answerable
        # found 0.952, topic removed 0.031; without diacritics 0.876 and 0.091)
        found=(39.6, 12.6, 29.8, -0.8, -2.5),
        found_bias=-5.29,
        english_min_evidence=-0.005,
    ),
}


#: With the answer selector (span sentence vectors), fitted on the qa-train dev splits by
#: scripts/fit_answer_weights.py --selector (docs/answer-selector.md).
SELECTOR_WEIGHTS = AnswerWeights(
    dense=1.0,
    coverage=0.203,
    passage=0.246,
    answer_type=0.077,
    follow_up_margin=0.052,
    found=(26.64, 8.63, 19.12, -0.04, -2.84),
    found_bias=-2.48,
    english_min_evidence=-0.005,
    selector=0.029,
    found_selector=(0.69, -0.04),
    phrase=0.156,
    previous=0.059,
)
#: Questions typed without diacritics rank with their own weights (the same found decision).
#: Fitted on them, the base model's cosine weighs *against* a sentence once the selector
#: (trained on such questions too), the words and the passage are counted: without
#: diacritics it mostly measures surface likeness. Held out on ViQuAD 1.0 dev, the first
#: sentence holds the answer 0.630 of the time with these, 0.597 with the accented weights.
SELECTOR_WEIGHTS_UNACCENTED = dataclasses.replace(
    SELECTOR_WEIGHTS,
    dense=-1.0,
    coverage=0.181,
    passage=0.299,
    answer_type=0.068,
    selector=0.017,
    phrase=0.186,
    previous=0.065,
    follow_up_margin=0.035,
)

FOUND_THRESHOLD = 0.5


@dataclass(frozen=True)
class Selection:
    """The trained answer selector's view of one question (retrieval/embedding/answer_selector.py):
    a sentence's selector score is ``scale * cosine(vector, sentence vector) - null``, above 0
    where the selector takes it for an answer."""

    vector: np.ndarray
    scale: float
    null: float

    @classmethod
    def of(cls, embedder: Embedder, text: str) -> Selection | None:
        """``text``'s selection by ``embedder``'s attached selector; None without one."""
        selector = getattr(embedder, "selector", None)  # test doubles have none
        if selector is None:
            return None
        vector = embedder.selection_vector(text)
        return None if vector is None else cls(vector, selector.scale, selector.null)

    def scores(self, sentence_vectors: np.ndarray) -> np.ndarray:
        return self.scale * (np.asarray(sentence_vectors, dtype=np.float32) @ self.vector) - self.null


#: Two sentences sharing this much of their vocabulary say the same thing.
DUPLICATE_JACCARD = 0.7


def weights_for(index: SearchIndex, selection: Selection | None = None, form: QueryForm | None = None) -> AnswerWeights:
    """The weights fitted for the way ``index``'s sentence vectors were made (and, with the
    selector, for the way the question is typed: without diacritics, its own ranker)."""
    if selection is None:
        return WEIGHTS[sentence_vectors_of(index.model)]
    return SELECTOR_WEIGHTS_UNACCENTED if form == QueryForm.UNACCENTED else SELECTOR_WEIGHTS


@dataclass
class _Candidate:
    row: int
    score: float
    cosine: float
    coverage: float
    published: datetime | None
    words: frozenset[str]
    passage: float = 0.0  # the sentence features' passage weight and answer type
    answer_type: float = 0.0
    selected: float | None = None  # the answer selector's score (None: no selector)


def _coverage(weighted_terms: list[tuple[QueryTerm, float]], present: set[str]) -> float:
    """IDF-weighted share of the question's words (or their expansions) among ``present`` tokens."""
    total = sum(w for _, w in weighted_terms)
    return sum(w for term, w in weighted_terms if term.present_in(present)) / total if total else 0.0


def _term_weight(index: SearchIndex, term: QueryTerm) -> float:
    """A question word's IDF; a word that has alternatives (an abbreviation's expansion, a
    place's pre- or post-2025 name) weighs no more than its most common alternative, so a
    name the corpus only knows under its other form ("Hải Phòng" for "Hải Dương") is not
    a rare word that no sentence covers."""
    weight = index.lexical.idf(term.token)
    for alternative in term.alternatives:
        if alternative:
            weight = min(weight, max(index.lexical.idf(token) for token in alternative))
    return weight


def _newer(a: datetime | None, b: datetime | None) -> bool:
    if a is None:
        return False
    return b is None or a > b


@dataclass(frozen=True)
class SentenceFeatures:
    """The candidate sentences of one question and what the sentence score is made of."""

    rows: list[int]
    #: (n, 4): cosine, coverage, passage weight, answer type (as :class:`AnswerWeights` weighs
    #: them); (n, 7) with the answer selector: its score, the phrase share, the previous
    #: sentence's coverage
    values: np.ndarray
    words: list[frozenset[str]]


def sentence_features(
    index: SearchIndex,
    analyzer: Analyzer,
    question: str,
    query: np.ndarray,
    ranked: list[RankedPassage],
    selection: Selection | None = None,
) -> SentenceFeatures:
    """The sentences of the best passages, in index order, and their features."""
    top = ranked[: answer_passages(selection)]
    best_fused = (top[0].fused if top else 0.0) or 1.0
    passage_weight: dict[int, float] = {}
    for item in top:
        for row in index.passage_sentences(item.passage):
            passage_weight[row] = max(passage_weight.get(row, 0.0), item.fused / best_fused)
    rows = sorted(passage_weight)
    values = np.zeros((len(rows), 4 if selection is None else 7), dtype=np.float64)
    if not rows:
        return SentenceFeatures([], values, [])
    vectors = np.asarray(index.sentence_vectors[rows], dtype=np.float32)
    values[:, 0] = vectors @ query
    if selection is not None:
        values[:, 4] = selection.scores(vectors)
    # The question's weights are the same for every sentence: compute them once.
    weighted_terms = [(term, _term_weight(index, term)) for term in analyzer.content_terms(question)]
    kind = expected_answer(question)
    given = question_words(question)
    question_pairs = word_pairs(question)
    words: list[frozenset[str]] = []
    positions: list[tuple[str, int]] = []
    for i, row in enumerate(rows):
        sentence = index.sentence(row)
        positions.append((sentence.article_id, sentence.position))
        tokens = analyzer.word_tokens(sentence.text)
        values[i, 1] = _coverage(weighted_terms, set(tokens))
        values[i, 2] = passage_weight[row]
        if selection is None:
            values[i, 3] = offers_answer(kind, sentence.text, given)
        else:
            values[i, 3] = answer_type_evidence(kind, sentence.text, given)
            shared = len(question_pairs & word_pairs(sentence.text))
            values[i, 5] = shared / len(question_pairs) if question_pairs else 0.0
        words.append(frozenset(tokens[::2]))
    if selection is not None:
        # The sentence before in the same article, where it is a candidate too (by position:
        # a search engine's rows need not follow the article).
        coverage_at = dict(zip(positions, values[:, 1], strict=True))
        values[:, 6] = [coverage_at.get((article, position - 1), 0.0) for article, position in positions]
    return SentenceFeatures(rows, values, words)


def word_pairs(text: str) -> frozenset[tuple[str, str]]:
    """Adjacent words of ``text``, lower-cased and folded (so typed without diacritics too)."""
    folded = [fold(word) for word in text_words(text)]
    return frozenset(itertools.pairwise(folded))


def rank_sentences(
    index: SearchIndex,
    analyzer: Analyzer,
    question: str,
    query: np.ndarray,
    ranked: list[RankedPassage],
    weights: AnswerWeights | None = None,
    selection: Selection | None = None,
) -> list[_Candidate]:
    """Sentences of the best passages, best first, near-duplicates merged (newer article kept)."""
    features = sentence_features(index, analyzer, question, query, ranked, selection)
    scores = (weights or weights_for(index, selection)).score(features.values)
    candidates = [
        _Candidate(
            row,
            float(score),
            float(values[0]),
            float(values[1]),
            index.article_of_sentence(row).published,
            words,
            float(values[2]),
            float(values[3]),
            float(values[4]) if selection is not None else None,
        )
        for row, score, values, words in zip(features.rows, scores, features.values, features.words, strict=True)
    ]
    candidates.sort(key=lambda c: (-c.score, c.row))
    kept: list[_Candidate] = []
    for cand in candidates:
        twin = next((k for k in kept if _jaccard(k.words, cand.words) >= DUPLICATE_JACCARD), None)
        if twin is None:
            kept.append(cand)
        elif _newer(cand.published, twin.published):
            kept[kept.index(twin)] = _Candidate(
                cand.row, twin.score, cand.cosine, cand.coverage, cand.published, cand.words,
                twin.passage, twin.answer_type, twin.selected,
            )  # fmt: skip
    return kept


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def is_found(best: _Candidate, baseline: float, form: QueryForm, weights: AnswerWeights) -> bool:
    """Whether the best sentence really answers: it must stand out from the background
    (``baseline``) in meaning and share the question's words; with the answer selector, its
    score for the sentence counts too."""
    return found_score(best.cosine - baseline, best.coverage, form, weights, best.selected) >= FOUND_THRESHOLD


def found_score(
    margin: float, coverage: float, form: QueryForm, weights: AnswerWeights, selected: float | None = None
) -> float:
    """The found decision's score (found at :data:`FOUND_THRESHOLD` and above) for the best
    sentence's margin above the background, its coverage of the question's words and (with
    the answer selector) the selector's score. English questions keep their own rule: the
    selector and its weights were trained and fitted on Vietnamese questions only."""
    if form == QueryForm.ENGLISH:
        evidence = margin + weights.english_coverage * coverage - weights.english_min_evidence
        return FOUND_THRESHOLD + evidence
    accented = 1.0 if form == QueryForm.ACCENTED else 0.0
    features = (margin, coverage, accented * margin, accented * coverage, accented)
    score = weights.found_bias + sum(w * f for w, f in zip(weights.found, features, strict=True))
    if selected is not None:
        score += weights.found_selector[0] * selected + weights.found_selector[1] * accented * selected
    return score


def _newest_first(candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates ordered by their article's date, newest first (undated last), keeping
    score order among sentences of the same date: stable, so an undated corpus keeps its order."""
    if len({c.published for c in candidates}) <= 1:
        return candidates
    oldest = datetime.min.replace(tzinfo=UTC)

    def key(c: _Candidate) -> datetime:
        if c.published is None:
            return oldest
        return c.published if c.published.tzinfo else c.published.replace(tzinfo=UTC)

    return sorted(candidates, key=key, reverse=True)


def citation_for(index: SearchIndex, candidate: _Candidate, less_related: bool = False) -> Citation:
    """``candidate`` quoted, with the notes on the units its own sentence names."""
    sentence = index.sentence(candidate.row)
    article = index.article_of_sentence(candidate.row)
    return Citation.quoting(
        article,
        sentence.text,
        sentence.start,
        sentence.end,
        candidate.score,
        is_caption=sentence.is_caption,
        less_related=less_related,
        unit_notes=unit_notes(sentence.text, article.published),
    )


def answer_evidence(
    index: SearchIndex,
    places: RelatedPlaces,
    question: str,
    ranked: list[RankedPassage],
    candidates: list[_Candidate],
    baseline: float,
    form: QueryForm,
    weights: AnswerWeights,
) -> Evidence:
    """What the confidence of the answer quoting ``candidates[0]`` first is decided from."""
    best = candidates[0]
    gap = best.score - candidates[1].score if len(candidates) > 1 else GAP_CAP
    top = ranked[0] if ranked else None
    agree = top is not None and all(r.dense <= top.dense and r.lexical <= top.lexical for r in ranked)
    names = question_names(question)
    return Evidence(
        found=found_score(best.cosine - baseline, best.coverage, form, weights, best.selected) - FOUND_THRESHOLD,
        margin=best.cosine - baseline,
        coverage=best.coverage,
        gap=min(gap, GAP_CAP),
        cosine_top=float(all(c.cosine <= best.cosine for c in candidates)),
        coverage_top=float(all(c.coverage <= best.coverage for c in candidates)),
        retrievers_agree=float(agree),
        top_passage=float(best.passage >= 1.0),
        typed=float(expected_answer(question) is not None),
        offers=best.answer_type,
        names=names_share(names, index.sentence(best.row).text, places),
        has_names=float(bool(names)),
        accented=float(form == QueryForm.ACCENTED),
        selected=best.selected,
    )


def earns_place(
    index: SearchIndex,
    analyzer: Analyzer,
    question: str,
    first: _Candidate,
    further: _Candidate,
    baseline: float,
    form: QueryForm,
    weights: AnswerWeights,
    places: RelatedPlaces,
) -> bool:
    """Whether ``further`` may be quoted after ``first``: it passes the found decision on its
    own, and if it comes from another article it shares the question's subject with ``first``
    and names one of the question's ``places`` (:meth:`Analyzer.related_places`) if it has any."""
    if not is_found(further, baseline, form, weights):
        return False
    article = index.article_of_sentence(further.row)
    if article.id == index.article_of_sentence(first.row).id:
        return True
    if places and not _names_a_place(_quoted_with_title(index, further.row), places):
        return False  # the question is about these provinces; another article must be too
    return shares_subject(analyzer, question, index.sentence(first.row).text, index.sentence(further.row).text)


def _quoted_with_title(index: SearchIndex, row: int) -> str:
    """A sentence and the title of its article, which a citation shows under it."""
    return f"{index.sentence(row).text}\n{index.article_of_sentence(row).title}"


def _names_a_place(text: str, places: RelatedPlaces) -> bool:
    """Whether ``text`` names one of the question's places, under its own or a related name."""
    words = {fold(w) for w in text_words(text)}
    return any(own <= words or any(name <= words for name in related) for own, related in places)


def compose_answer(
    index: SearchIndex,
    analyzer: Analyzer,
    question: str,
    query: np.ndarray,
    ranked: list[RankedPassage],
    baseline: float,
    limit: int = 3,
    offset: int = 0,
    prefer_recent: bool = False,
    earned_quotes: bool = True,
    selection: Selection | None = None,
) -> Answer:
    """The grounded answer: up to ``limit`` sentences after skipping ``offset``, or not found.

    The first page (``offset`` 0) quotes further sentences only when they score within the
    follow-up margin of the first and, unless ``earned_quotes`` is False (the rule before,
    kept for ``hoptac eval``'s comparison), :func:`earns_place`. Quotes from different
    articles come newest first (when articles disagree, the newer one leads; each citation
    carries its date). ``prefer_recent`` (the question asked for the latest news) also lets
    sentences a little further below the best compete, newest first. Further pages ("more
    results", ``offset`` past the first page) go on after the first page's quotes with the
    other sentences the found decision accepts on their own (:func:`is_found`): the close ones
    newest first, then those below the follow-up margin in score order, each citation of
    these marked ``less_related``; a sentence the found decision would not accept is never
    quoted. ``Answer.more_quotes`` says whether any are left after the page."""
    form = analyzer.query_form(question)
    weights = weights_for(index, selection, form)
    candidates = rank_sentences(index, analyzer, question, query, ranked, weights, selection)
    places = analyzer.related_places(question)
    if places:  # asked about these provinces: sentences of articles about them come first
        about = [c for c in candidates if _names_a_place(_quoted_with_title(index, c.row), places)]
        candidates = about + [c for c in candidates if c not in about] if about else candidates
    articles = tuple(dict.fromkeys(index.article_id_of_passage(r.passage) for r in ranked))
    if not candidates:
        return Answer(question, False, NOT_FOUND_MESSAGE, (), ranked_articles=articles, more_quotes=False)
    evidence = answer_evidence(index, places, question, ranked, candidates, baseline, form, weights)
    if not is_found(candidates[0], baseline, form, weights):
        return Answer(
            question,
            False,
            NOT_FOUND_MESSAGE,
            (),
            ranked_articles=articles,
            evidence=evidence.vector(),
            more_quotes=False,
        )
    first = candidates[0]
    recent_margin = weights.follow_up_margin * (RECENT_MARGIN_FACTOR if prefer_recent else 1.0)

    def is_close(c: _Candidate) -> bool:
        # Asked for the latest: a newer article's sentence may be a little further below the best.
        margin = recent_margin if _newer(c.published, first.published) else weights.follow_up_margin
        return c.score >= first.score - margin

    further = [
        c
        for c in candidates[1:]
        if is_close(c)
        and (not earned_quotes or earns_place(index, analyzer, question, first, c, baseline, form, weights, places))
    ]
    first_page = _newest_first([first, *further])
    # Further pages go on with the sentences the found decision accepts on their own, all less
    # related than the first page's (below the margin, or another article's that did not earn
    # its place): the close ones newest first, then the others in score order.
    first_rows = {c.row for c in first_page}
    rest = [c for c in candidates if c.row not in first_rows and is_found(c, baseline, form, weights)]
    ordered = first_page + _newest_first([c for c in rest if is_close(c)]) + [c for c in rest if not is_close(c)]
    chosen = (first_page if offset == 0 else ordered)[offset : offset + limit]
    if not chosen:
        return Answer(question, False, NOT_FOUND_MESSAGE, (), ranked_articles=articles, more_quotes=False)
    citations = tuple(citation_for(index, c, less_related=c.row not in first_rows) for c in chosen)
    text = "\n".join(f"[{i}] {c.sentence}" for i, c in enumerate(citations, start=1))
    return Answer(
        question,
        True,
        text,
        citations,
        confidence=confidence_of(evidence),
        ranked_articles=articles,
        evidence=evidence.vector(),
        more_quotes=len(ordered) > offset + len(chosen),
    )
