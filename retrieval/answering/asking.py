"""One question, from its text and vector to the answer, on any search backend.

    answer = answer_question(analyzer, text, query, baseline, limit, offset, dated, search, selection)

``selection`` is the trained answer selector's view of the question (None: without it).

``search(words, when)`` is the backend's part: the index to compose from and the fused
ranking of ``words``, among the passages of ``when``'s periods when it is given (None when
no passage is of them). The local engine (retrieval/local/engine.py) and the Milvus engine
(retrieval/milvus/engine.py) answer through this one function, so they answer alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from retrieval.answering.search import RankedPassage
from retrieval.answering.search_index import SearchIndex
from retrieval.answering.sentence_choice import Selection, compose_answer
from retrieval.models import Answer
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import DateFilter, parse_dates

#: ``search(words, when)`` -> (index, ranking), or None when ``when`` selects no passage.
PassageSearch = Callable[[str, DateFilter | None], tuple[SearchIndex, list[RankedPassage]] | None]


def answer_question(
    analyzer: Analyzer,
    text: str,
    query: np.ndarray,
    baseline: float,
    limit: int,
    offset: int,
    dated: bool,
    search: PassageSearch,
    selection: Selection | None = None,
) -> Answer:
    """The answer to ``text`` (already checked), ``limit`` quotes after skipping ``offset``.

    "năm 2019", "tháng 10/2019": only articles of that period, if one of them answers (then
    the date words, which a sentence rarely repeats, are left out of the word matching);
    "gần đây", "mới nhất": newer sentences first among the close ones. Without any dated
    article (``dated`` False: xquad, say) they are ordinary words of the question."""
    when = parse_dates(text) if dated else DateFilter()
    if when.restricts:
        words = when.without_dates(text) or text
        found = search(words, when)
        if found is not None:
            index, ranked = found
            recent = when.prefer_recent
            first = compose_answer(
                index, analyzer, words, query, ranked, baseline, limit, 0, recent, selection=selection
            )
            if first.found:  # then "more results" (offset > 0) stay in the period too
                if not offset:
                    return first
                return compose_answer(
                    index, analyzer, words, query, ranked, baseline, limit, offset, recent, selection=selection
                )
    # No article of that period answers: ask them all.
    words = when.without_dates(text, periods=False) or text
    everything = search(words, None)
    assert everything is not None, "a search without a period always answers"
    index, ranked = everything
    return compose_answer(
        index, analyzer, words, query, ranked, baseline, limit, offset, when.prefer_recent, selection=selection
    )
