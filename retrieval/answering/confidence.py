"""How sure a found answer is: *confident* ("high") or only *related* ("low").

A found answer quotes the sentence that best matches the question; that sentence often is
about the right subject without saying what was asked (the answer-removed questions of
``hoptac eval``). The confidence is a logistic score over evidence the engine already has
(:class:`Evidence`, gathered in retrieval/answering/sentence_choice.py): the found decision's own score, the
best sentence's margin above the background and its coverage of the question's words, the
gap to the next sentence, whether dense and lexical evidence agree, whether the sentence
offers the kind of answer the question word asks for, and how many of the question's names
and numbers it repeats.

    evidence = Evidence(...)
    confidence_of(evidence)      # "high" or "low"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Literal

import numpy as np

from retrieval.vietnamese.text import fold, nfc

Confidence = Literal["high", "low"]
#: Said before the quotes of a "low" answer (in the bot and ``hoptac ask``).

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: Score gaps to the next sentence are capped here (a lone candidate gets the cap).
GAP_CAP = 0.2


@dataclass(frozen=True)
class Evidence:
    """What the confidence is decided from; every field a number, in :data:`FEATURES` order."""

    found: float  # the found decision's score minus its threshold
    margin: float  # best sentence's cosine minus the background baseline
    coverage: float  # IDF-weighted share of the question's content words in the best sentence
    gap: float  # best sentence score minus the next one's, capped at GAP_CAP
    cosine_top: float  # 1 if no candidate has a higher cosine
    coverage_top: float  # 1 if no candidate covers more of the question
    retrievers_agree: float  # 1 if the top passage is also the top one by dense and by BM25 score
    top_passage: float  # 1 if the best sentence is in the top passage
    typed: float  # 1 if the question word asks for a kind of answer (number, time, person, place)
    offers: float  # 1 if the best sentence offers that kind of answer
    names: float  # share of the question's names and numbers the best sentence repeats (1 if none)
    has_names: float  # 1 if the question has names or numbers
    accented: float  # 1 if the question is typed with diacritics
    selected: float | None = None  # the answer selector's score for the best sentence (None: no selector)

    def vector(self) -> np.ndarray:
        """The fields in :data:`FEATURES` order, ``selected`` only with the selector."""
        values = astuple(self)
        return np.array(values if self.selected is not None else values[:-1], dtype=np.float64)


FEATURES: tuple[str, ...] = tuple(Evidence.__dataclass_fields__)
_ACCENTED = FEATURES.index("accented")


def design(evidence: np.ndarray) -> np.ndarray:
    """The logistic score's inputs from :meth:`Evidence.vector` rows: the evidence, then each
    field but ``accented`` times ``accented`` (slopes of their own for questions with diacritics)."""
    accented = evidence[..., _ACCENTED : _ACCENTED + 1]
    return np.concatenate(
        [evidence, evidence[..., :_ACCENTED] * accented, evidence[..., _ACCENTED + 1 :] * accented], axis=-1
    )


# Fitted by ``scripts/fit_confidence.py ../shared/data/xquad-vi/xquad.vi.json`` (span sentence
# vectors): a logistic regression whose positives are the found xquad-vi questions whose first
# quoted sentence holds the answer, and negatives the found ones whose first sentence does
# not, plus the found answer-removed and topic-removed questions, all asked with and without
# diacritics. The thresholds were chosen held out (fitted on the odd SQuAD articles, scored on
# the even ones, and the other way round) as the lowest meeting the targets for confident
# answers (first quote right >= 0.85, answer removed <= 0.35, topic removed <= 0.02), then
# the weights fitted on all. The curve and the choice: docs/confidence.md.
CONFIDENCE_WEIGHTS: tuple[float, ...] = (
    # found, margin, coverage, gap, cosine top, coverage top, retrievers agree, top passage,
    # typed, offers, names, has names, accented
    -0.03, -9.631, 3.18, 16.491, -0.416, 0.725, 0.649, 1.321, 0.195, 0.271, 0.265, 0.855, 1.186,
    # the same times accented (but accented)
    0.003, 13.797, 0.247, 0.05, 0.698, -1.006, 0.084, -0.836, -0.146, -0.051, -0.442, -0.61,
)  # fmt: skip
CONFIDENCE_BIAS = -4.757
#: Confident where the logit is at least this, for questions typed with diacritics and without
#: (held out: with diacritics every target is met; without, answerable questions are answered
#: confidently 0.619 of the time where topic-removed ones drop to 0.017).
THRESHOLD_ACCENTED = -0.125
THRESHOLD_UNACCENTED = 0.5


# With the answer selector: the same fields and the selector's score for the best sentence
# (and it times accented), fitted by ``scripts/fit_confidence.py ../shared/data/qa-train/viquad1.json
# --split dev`` (ViQuAD 1.0 dev, never XQuAD); thresholds chosen held out by the same rule
# as above. The curve: docs/answer-selector.md.
SELECTOR_CONFIDENCE_WEIGHTS: tuple[float, ...] = (
    0.259, -10.635, -0.119, 17.412, -0.295, -0.058, 0.294, 0.418, -0.546, 0.74, 1.91, 0.91, 1.469, -0.165,
    -0.131, 4.291, 0.46, -2.631, 0.417, 0.006, 0.024, 0.231, 0.384, -0.225, -1.419, -0.589, 0.111,
)  # fmt: skip
SELECTOR_CONFIDENCE_BIAS = -3.939
SELECTOR_THRESHOLD_ACCENTED = 0.25
SELECTOR_THRESHOLD_UNACCENTED = 0.5


def confidence_logit(evidence: Evidence) -> float:
    if evidence.selected is None:
        return CONFIDENCE_BIAS + float(np.dot(np.array(CONFIDENCE_WEIGHTS), design(evidence.vector())))
    weights = np.array(SELECTOR_CONFIDENCE_WEIGHTS)
    return SELECTOR_CONFIDENCE_BIAS + float(np.dot(weights, design(evidence.vector())))


#: With the selector, ``offers`` is graded (retrieval/vietnamese/answer_types.py
#: ``answer_type_evidence``): this is a "where" question's best sentence naming someone or
#: something but no place after a locative ("tại", "ở", "in").
PLACE_GUESS = 0.5


def confidence_of(evidence: Evidence) -> Confidence:
    if evidence.selected is None:
        threshold = THRESHOLD_ACCENTED if evidence.accented else THRESHOLD_UNACCENTED
    else:
        if evidence.typed and evidence.offers == PLACE_GUESS:
            # Asked where, the quote says no place: at best related. On ViQuAD 1.0 dev this
            # costs 0.018 of the answerable questions answered confidently for +0.003 precision.
            return "low"
        threshold = SELECTOR_THRESHOLD_ACCENTED if evidence.accented else SELECTOR_THRESHOLD_UNACCENTED
    return "high" if confidence_logit(evidence) >= threshold else "low"


def question_names(question: str) -> frozenset[str]:
    """The question's names (capitalised words after the first) and numbers, folded."""
    words = _WORD.findall(nfc(question))
    return frozenset(
        fold(w) for i, w in enumerate(words) if any(ch.isdigit() for ch in w) or (i > 0 and w[:1].isupper())
    )


def names_share(
    names: frozenset[str],
    sentence: str,
    places: Sequence[tuple[frozenset[str], tuple[frozenset[str], ...]]] = (),
) -> float:
    """Share of ``names`` (see :func:`question_names`) among ``sentence``'s folded words; 1 if none.

    ``places`` (:meth:`retrieval.vietnamese.analyzer.Analyzer.related_places`): a place name of the
    question counts as present when the sentence names a predecessor or successor of it
    ("Hải Phòng" in the question, "Hải Dương" in a 2019 sentence)."""
    if not names:
        return 1.0
    present = {fold(w) for w in _WORD.findall(nfc(sentence))}
    for own, related in places:
        if any(name <= present for name in related):
            present |= own
    return len(names & present) / len(names)
