"""The benchmark's articles and questions: a fixed sample of a news JSONL, and what is asked of it.

The articles of the file (JSONL or JSONL.gz, e.g. news-vi) are shuffled once with seed 13,
the order ``hoptac eval --distractors`` uses, so the embedding cache is shared. The tail of
that order (up to 400 lines) is held out: never in any size's corpus, it feeds the
new-article and ingest-speed measurements. A corpus of ``size`` passages is the shortest
prefix of the rest that makes ``size`` passages, counted with the product's own sentence
splitter and passage windows; articles go through the product's importer, so whatever it
rejects is skipped here too. When a size asks for more passages than the real articles make,
pseudo-articles made of their real text follow them (:mod:`measure.bench.pseudo`), through
the same importer and counted the same way; the held-out tail is never used for them.

Questions are made from the indexed articles: a third are titles, a third titles typed
without diacritics, a third the first ten words of a body sentence.
"""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from measure.bench.pseudo import PSEUDO_SEED, ROUND_MARK, PseudoPlan, pseudo_line, sentence_spans
from retrieval.articles.sentences import split_sentences
from retrieval.models import Article
from retrieval.vietnamese.text import fold, nfc

QUESTION_SEED = 7
ARTICLE_SEED = 13
HELD_OUT_LINES = 400  # the tail of the shuffled file: never in any size's corpus

Log = Callable[[str], None]
T = TypeVar("T")


class Rows(Sequence[T]):
    """A read-only sequence whose items are made on demand by ``item`` (slices are views)."""

    def __init__(self, item: Callable[[int], T], rows: range) -> None:
        self._item = item
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, key: int) -> T: ...
    @overload
    def __getitem__(self, key: slice) -> Rows[T]: ...
    def __getitem__(self, key: int | slice) -> T | Rows[T]:
        if isinstance(key, slice):
            return Rows(self._item, self._rows[key])
        return self._item(self._rows[key])


@dataclass
class NewsSample:
    """Articles in the benchmark's fixed order: the file's real ones, then pseudo-articles.

    Real articles keep their raw JSONL line, their parsed :class:`Article` and their sentence
    spans (what pseudo-articles are cut from); a pseudo-article keeps only its real article
    and round, its line and article are made again on demand (:mod:`measure.bench.pseudo`).
    ``passages`` holds every article's passage count, real then pseudo."""

    real_lines: list[str] = field(default_factory=list)
    real_articles: list[Article] = field(default_factory=list)
    real_spans: list[np.ndarray] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)
    held_out_lines: list[str] = field(default_factory=list)
    pseudo_leads: array[int] = field(default_factory=lambda: array("i"))
    pseudo_rounds: array[int] = field(default_factory=lambda: array("i"))
    seed: int = PSEUDO_SEED
    _plan: PseudoPlan | None = field(default=None, init=False, repr=False)

    @property
    def real_count(self) -> int:
        return len(self.real_lines)

    @property
    def plan(self) -> PseudoPlan:
        if self._plan is None or self._plan.n != self.real_count:
            self._plan = PseudoPlan(self.real_count, self.seed)
        return self._plan

    def make_pseudo_line(self, lead: int, round_: int) -> str | None:
        """The JSONL line of real article ``lead``'s pseudo-article in ``round_``."""
        tail = self.plan.partner(lead, round_)
        return pseudo_line(
            self.real_articles[lead], self.real_spans[lead], self.real_articles[tail], self.real_spans[tail], round_
        )

    def line(self, k: int) -> str:
        if k < self.real_count:
            return self.real_lines[k]
        p = k - self.real_count
        line = self.make_pseudo_line(self.pseudo_leads[p], self.pseudo_rounds[p])
        assert line is not None  # only pseudo-articles that have a line are kept
        return line

    def article(self, k: int) -> Article:
        if k < self.real_count:
            return self.real_articles[k]
        return import_lines([self.line(k)])[0][1]

    @property
    def lines(self) -> Rows[str]:
        return Rows(self.line, range(len(self.passages)))

    @property
    def articles(self) -> Rows[Article]:
        return Rows(self.article, range(len(self.passages)))

    def prefix(self, size: int) -> int:
        """How many leading articles make at least ``size`` passages."""
        total = 0
        for count, n in enumerate(self.passages, start=1):
            total += n
            if total >= size:
                return count
        return len(self.passages)

    def pseudo_articles(self, count: int) -> int:
        """How many of the first ``count`` articles are pseudo-articles."""
        return max(0, count - self.real_count)

    def pseudo_passages(self, count: int) -> int:
        """How many passages the pseudo-articles among the first ``count`` articles make."""
        return sum(self.passages[self.real_count : count])

    def write_lines(self, path: Path, count: int) -> None:
        """The first ``count`` articles' JSONL lines into ``path``, one at a time."""
        with path.open("w", encoding="utf-8") as out:
            for k in range(count):
                out.write(self.line(k))


def import_lines(lines: Sequence[str]) -> list[tuple[str, Article]]:
    """Parse JSONL lines with the product's importer; unparsable lines are skipped."""
    from retrieval.articles.importers import import_path

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        sample.write_text("".join(lines), "utf-8")
        result = import_path(sample)
    by_id = {a.id: a for a in result.articles}
    pairs: list[tuple[str, Article]] = []
    for line in lines:
        try:
            record_id = str(json.loads(line).get("id", ""))
        except json.JSONDecodeError:
            continue
        article = by_id.get(record_id) or by_id.get(nfc(record_id))
        if article is not None:
            pairs.append((line, article))
    return pairs


def load_sample(path: Path, passages: int, log: Log, seed: int = PSEUDO_SEED) -> NewsSample:
    """Articles of ``path`` (JSONL or JSONL.gz) in a fixed random order until ``passages``;
    pseudo-articles (:mod:`measure.bench.pseudo`) after the real ones when these are too few."""
    from retrieval.articles.passages import passage_windows

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = [line if line.endswith("\n") else line + "\n" for line in handle if line.strip()]
    random.Random(ARTICLE_SEED).shuffle(lines)
    held = min(HELD_OUT_LINES, max(len(lines) // 10, 3), len(lines) // 2)
    sample = NewsSample(held_out_lines=lines[len(lines) - held :], seed=seed)
    body = lines[: len(lines) - held]
    del lines
    total = 0
    for start in range(0, len(body), 500):
        for line, article in import_lines(body[start : start + 500]):
            sentences = split_sentences(article)
            n = len(passage_windows(sentences))
            sample.real_lines.append(line)
            sample.real_articles.append(article)
            sample.real_spans.append(sentence_spans(sentences))
            sample.passages.append(n)
            total += n
            if total >= passages:
                return sample
        log(f"reading articles: {total:,} passages")
    del body
    clash = next((a.id for a in sample.real_articles if ROUND_MARK in a.id), None)
    if clash is not None:
        raise ValueError(f"article id {clash!r} contains {ROUND_MARK!r}: pseudo-article ids could collide with it")
    plan = sample.plan
    for round_ in range(1, plan.rounds + 1):
        for start in range(0, sample.real_count, 500):
            made: dict[str, int] = {}
            for lead in range(start, min(start + 500, sample.real_count)):
                pseudo = sample.make_pseudo_line(lead, round_)
                if pseudo is not None:
                    made[pseudo] = lead
            for pseudo, article in import_lines(list(made)):
                n = len(passage_windows(split_sentences(article)))
                sample.pseudo_leads.append(made[pseudo])
                sample.pseudo_rounds.append(round_)
                sample.passages.append(n)
                total += n
                if total >= passages:
                    return sample
        log(f"pseudo-articles, round {round_}: {total:,} passages")
    return sample


def make_questions(articles: Sequence[Article], count: int, seed: int = QUESTION_SEED) -> list[str]:
    """``count`` distinct questions about ``articles``: titles, unaccented titles, sentence openings."""
    rng = random.Random(seed)
    order = list(range(len(articles)))
    rng.shuffle(order)
    questions: list[str] = []
    seen: set[str] = set()
    for turn, i in enumerate(order * 3):
        if len(questions) >= count:
            break
        article = articles[i]
        kind = turn % 3
        if kind == 0:
            question = article.title
        elif kind == 1:
            question = fold(article.title)
        else:
            sentences = [s.text for s in split_sentences(article) if len(s.text.split()) >= 8]
            if not sentences:
                continue
            question = " ".join(rng.choice(sentences).split()[:10])
        question = question.strip()[:300]
        if question and question not in seen:
            seen.add(question)
            questions.append(question)
    return questions
