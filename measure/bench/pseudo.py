"""Pseudo-articles: more benchmark articles made of real text, for sizes the news file cannot fill.

Round ``r`` (1, 2, ...) goes over the file's real articles in the benchmark's order and
makes one pseudo-article from each real article ``i`` and a partner ``j = (i + shift_r) mod
n``, where ``shift_r`` (1 to n - 1, different in every round) is drawn with
:data:`PSEUDO_SEED`: in odd rounds the first half of ``i``'s sentences then the second half
of ``j``'s, in even rounds the second half of ``i``'s then the first half of ``j``'s. Each
paragraph of a pseudo-article is an exact slice of one real article's text (from the start
of its first chosen sentence to the end of its last one in that paragraph, sentences as the
product's splitter finds them), so every sentence is real text and the two halves come from
two different articles. Its id is ``<id of i>~r<round>``, its title ``j``'s title (so no
pseudo-article opens with the title and lead of the real article it starts from), its date
and source ``i``'s. Nothing but ``(i, r)`` is kept: the JSONL line is made again when it is
needed, byte for byte the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import numpy as np

from retrieval.models import Article, Sentence

PSEUDO_SEED = 29
ROUND_MARK = "~r"  # a pseudo-article's id: <real id>~r<round>


def sentence_spans(sentences: Sequence[Sentence]) -> np.ndarray:
    """``(start, end, paragraph)`` of each of an article's ``sentences`` outside photo captions
    (as :func:`retrieval.articles.sentences.split_sentences` finds them)."""
    rows = [(s.start, s.end, s.paragraph) for s in sentences if not s.is_caption]
    return np.array(rows, dtype=np.int32).reshape(-1, 3)


class PseudoPlan:
    """Which real article is paired with which in each round, for ``n`` real articles."""

    def __init__(self, n: int, seed: int = PSEUDO_SEED) -> None:
        self.n = n
        self._rng = random.Random(seed)
        self._shifts: list[int] = []

    @property
    def rounds(self) -> int:
        """How many rounds there can be: one per possible partner."""
        return max(self.n - 1, 0)

    def shift(self, round_: int) -> int:
        """The distance from an article to its partner in ``round_`` (1-based)."""
        if not 1 <= round_ <= self.rounds:
            raise ValueError(f"round {round_} is outside 1..{self.rounds}")
        used = set(self._shifts)
        while len(self._shifts) < round_:
            shift = self._rng.randrange(1, self.n)
            if shift not in used:
                used.add(shift)
                self._shifts.append(shift)
        return self._shifts[round_ - 1]

    def partner(self, i: int, round_: int) -> int:
        return (i + self.shift(round_)) % self.n


def _half(spans: np.ndarray, first: bool) -> np.ndarray:
    k = (len(spans) + 1) // 2
    return spans[:k] if first else spans[len(spans) - k :]


def _paragraph_slices(article: Article, spans: np.ndarray) -> list[str]:
    """One exact slice of ``article.text`` per paragraph the sentences ``spans`` lie in."""
    slices: list[str] = []
    begin = 0
    for row in range(1, len(spans) + 1):
        if row == len(spans) or spans[row, 2] != spans[begin, 2]:
            slices.append(article.text[int(spans[begin, 0]) : int(spans[row - 1, 1])])
            begin = row
    return slices


def pseudo_record(
    lead: Article, lead_spans: np.ndarray, tail: Article, tail_spans: np.ndarray, round_: int
) -> dict[str, str] | None:
    """The JSONL record of the pseudo-article of ``lead`` in ``round_`` (``tail`` its partner);
    None when either has no sentences."""
    if len(lead_spans) == 0 or len(tail_spans) == 0 or lead.id == tail.id:
        return None
    odd = round_ % 2 == 1
    paragraphs = [
        *_paragraph_slices(lead, _half(lead_spans, first=odd)),
        *_paragraph_slices(tail, _half(tail_spans, first=not odd)),
    ]
    record = {"id": f"{lead.id}{ROUND_MARK}{round_}", "title": tail.title, "body": "\n".join(paragraphs)}
    if lead.published is not None:
        record["published"] = lead.published.isoformat()
    if lead.source:
        record["source"] = lead.source
    return record


def pseudo_line(
    lead: Article, lead_spans: np.ndarray, tail: Article, tail_spans: np.ndarray, round_: int
) -> str | None:
    """:func:`pseudo_record` as one JSONL line (with its newline)."""
    record = pseudo_record(lead, lead_spans, tail, tail_spans, round_)
    return None if record is None else json.dumps(record, ensure_ascii=False) + "\n"
