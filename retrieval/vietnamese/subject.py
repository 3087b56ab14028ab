"""The question's subject (its key words) and whether a sentence shares it.

A further quote from another article than the first must be about what the question is
about, not merely share one common word: asked "cau Dong Viet o dau", a sentence about a
gold shop where people "mua vàng cầu may" holds "cầu" but not "cầu Đồng" nor "Đồng Việt".

The subject is the question's adjacent content-word pairs that the first quote holds, or,
where it holds none, the content words it holds (words as the question typed them: with
diacritics exactly, without them through the folded form).

    shares_subject(analyzer, question, first_quote, other_sentence)
"""

from __future__ import annotations

import itertools

from retrieval.vietnamese.analyzer import FOLDED, PAIR, Analyzer, QueryTerm
from retrieval.vietnamese.text import fold


def _pair_token(a: str, b: str) -> str:
    """The BM25 pair token of two query tokens (as retrieval/vietnamese/analyzer.py makes them)."""
    if a.startswith(FOLDED) or b.startswith(FOLDED):
        return f"{FOLDED}{fold(a.removeprefix(FOLDED))}{PAIR}{fold(b.removeprefix(FOLDED))}"
    return f"{a}{PAIR}{b}"


def key_terms(analyzer: Analyzer, question: str) -> tuple[list[QueryTerm], list[str]]:
    """The question's content words and the pair tokens of adjacent ones."""
    content = {t.token for t in analyzer.content_terms(question)}
    terms = analyzer.query_terms(question)
    words = [t for t in terms if t.token in content]
    pairs = [_pair_token(a.token, b.token) for a, b in itertools.pairwise(terms) if {a.token, b.token} <= content]
    return words, pairs


def shares_subject(analyzer: Analyzer, question: str, first: str, other: str) -> bool:
    """Whether ``other`` holds the part of the question's key words that ``first`` holds."""
    words, pairs = key_terms(analyzer, question)
    first_tokens = set(analyzer.document_tokens(first))
    other_tokens = set(analyzer.document_tokens(other))
    held_pairs = [p for p in pairs if p in first_tokens]
    if held_pairs:
        return any(p in other_tokens for p in held_pairs)
    held = [t for t in words if t.present_in(first_tokens)]
    return any(t.present_in(other_tokens) for t in held)


def holds_key_words(analyzer: Analyzer, question: str, sentence: str) -> bool:
    """Whether ``sentence`` holds a pair of the question's adjacent content words, or half of
    its content words (the measure of ``hoptac eval``, independent of the first quote)."""
    words, pairs = key_terms(analyzer, question)
    tokens = set(analyzer.document_tokens(sentence))
    if any(p in tokens for p in pairs):
        return True
    return bool(words) and sum(t.present_in(tokens) for t in words) * 2 >= len(words)
