"""The benchmark's articles and questions: a fixed sample of a news JSONL, and what is asked of it.

The articles of the file (JSONL or JSONL.gz, e.g. news-vi) are shuffled once with seed 13,
the order ``hoptac eval --distractors`` uses, so the embedding cache is shared. The tail of
that order (up to 400 lines) is held out: never in any size's corpus, it feeds the
new-article and ingest-speed measurements. A corpus of ``size`` passages is the shortest
prefix of the rest that makes ``size`` passages, counted with the product's own sentence
splitter and passage windows; articles go through the product's importer, so whatever it
rejects is skipped here too.

Questions are made from the indexed articles: a third are titles, a third titles typed
without diacritics, a third the first ten words of a body sentence.
"""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.models import Article
from retrieval.text import fold, nfc

QUESTION_SEED = 7
ARTICLE_SEED = 13
HELD_OUT_LINES = 400  # the tail of the shuffled file: never in any size's corpus

Log = Callable[[str], None]


@dataclass
class NewsSample:
    """Articles in the benchmark's fixed order, each with its raw JSONL line and passage count."""

    lines: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)
    held_out_lines: list[str] = field(default_factory=list)

    def prefix(self, size: int) -> int:
        """How many leading articles make at least ``size`` passages."""
        total = 0
        for count, n in enumerate(self.passages, start=1):
            total += n
            if total >= size:
                return count
        return len(self.passages)


def import_lines(lines: Sequence[str]) -> list[tuple[str, Article]]:
    """Parse JSONL lines with the product's importer; unparsable lines are skipped."""
    from retrieval.importers import import_path

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


def load_sample(path: Path, passages: int, log: Log) -> NewsSample:
    """Articles of ``path`` (JSONL or JSONL.gz) in a fixed random order until ``passages``."""
    from retrieval.passages import passage_windows
    from retrieval.sentences import split_sentences

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = [line if line.endswith("\n") else line + "\n" for line in handle if line.strip()]
    random.Random(ARTICLE_SEED).shuffle(lines)
    held = min(HELD_OUT_LINES, max(len(lines) // 10, 3), len(lines) // 2)
    sample = NewsSample(held_out_lines=lines[len(lines) - held :])
    body = lines[: len(lines) - held]
    total = 0
    for start in range(0, len(body), 500):
        for line, article in import_lines(body[start : start + 500]):
            n = len(passage_windows(split_sentences(article)))
            sample.lines.append(line)
            sample.articles.append(article)
            sample.passages.append(n)
            total += n
            if total >= passages:
                return sample
        log(f"reading articles: {total:,} passages")
    return sample


def make_questions(articles: Sequence[Article], count: int, seed: int = QUESTION_SEED) -> list[str]:
    """``count`` distinct questions about ``articles``: titles, unaccented titles, sentence openings."""
    from retrieval.sentences import split_sentences

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
