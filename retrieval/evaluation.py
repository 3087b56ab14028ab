"""Retrieval and answer quality on a SQuAD-format file (``hoptac eval``).

Every paragraph becomes an article of a temporary corpus; every question is asked once.
Reported side by side in one run, for the hybrid and for BM25-only and dense-only:
recall@1/5/10 and MRR@10 of the gold paragraph, and for the answers, the share whose first
cited sentence (or any cited sentence) contains the gold answer text. The found decision is
checked three ways: answerable questions over the full corpus; questions of held-out
articles (every other article removed from the corpus), which must come back not found;
and questions whose answer was cut out of their paragraph (the rest of the paragraph,
still about the same thing, stays in the corpus), which should come back not found too:
the case where quoting a sentence about the topic would be a wrong citation.
"""

from __future__ import annotations

import gzip
import json
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.answering import RankedPassage, Searcher, compose_answer
from retrieval.background import Background
from retrieval.config import EngineConfig
from retrieval.embedding import Embedder
from retrieval.fusion import DEFAULT_DENSE_WEIGHT, FusionMethod
from retrieval.index import LoadedIndex, Progress, build_index
from retrieval.lexical import Analyzer
from retrieval.models import Article
from retrieval.passages import passage_windows
from retrieval.sentences import split_sentences
from retrieval.text import nfc

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NEWS_JSONL = SHARED_DATA / "news-vi" / "baomoi-2017.jsonl.gz"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    article_id: str
    group: int  # which SQuAD article (topic) it belongs to
    answer: str


def load_squad(path: Path) -> tuple[list[Article], list[Question]]:
    data = json.loads(path.read_text("utf-8"))
    articles: list[Article] = []
    questions: list[Question] = []
    for group, entry in enumerate(data["data"]):
        title = nfc(entry.get("title", f"article {group}").replace("_", " "))
        for number, paragraph in enumerate(entry["paragraphs"]):
            article_id = f"squad-{group:03d}-{number:02d}"
            articles.append(
                Article(id=article_id, title=title, published=None, source="XQuAD", text=nfc(paragraph["context"]))
            )
            for qa in paragraph["qas"]:
                answer = nfc(qa["answers"][0]["text"]) if qa.get("answers") else ""
                questions.append(Question(qa["id"], nfc(qa["question"]), article_id, group, answer))
    return articles, questions


def load_distractors(count: int, path: Path = NEWS_JSONL, seed: int = 13) -> list[Article]:
    """Whole news articles, in a fixed random order, until they make ``count`` passages."""
    if count <= 0:
        return []
    if not path.exists():
        raise FileNotFoundError(f"distractors need {path}, which is absent")
    from retrieval.importers import import_path

    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    random.Random(seed).shuffle(lines)
    chosen: list[Article] = []
    passages = 0
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(lines), 500):
            sample = Path(tmp) / f"distractors-{start}.jsonl"
            sample.write_text("".join(lines[start : start + 500]), "utf-8")
            for article in import_path(sample).articles:
                chosen.append(replace(article, id=f"news-{article.id}"))
                passages += len(passage_windows(split_sentences(article)))
                if passages >= count:
                    return chosen
    return chosen


def _article_ranking(index: LoadedIndex, ranked: list[RankedPassage], k: int = 10) -> list[str]:
    seen: dict[str, None] = {}
    for item in ranked:
        seen.setdefault(index.article_of_passage(item.passage).id, None)
        if len(seen) >= k:
            break
    return list(seen)


def _retrieval_scores(rankings: list[list[str]], gold: list[str]) -> dict[str, float]:
    n = len(gold) or 1

    def recall(k: int) -> float:
        return sum(g in r[:k] for r, g in zip(rankings, gold, strict=True)) / n

    mrr = sum(1.0 / (r.index(g) + 1) if g in r[:10] else 0.0 for r, g in zip(rankings, gold, strict=True)) / n
    return {"recall@1": recall(1), "recall@5": recall(5), "recall@10": recall(10), "mrr@10": mrr}


def contains_answer(sentence: str, answer: str) -> bool:
    return bool(answer) and answer.casefold() in sentence.casefold()


def _encode_queries(embedder: Embedder, questions: list[Question], progress: Progress | None) -> np.ndarray:
    vectors = []
    for i, q in enumerate(questions):
        vectors.append(embedder.encode_query(q.text))
        if progress and i % 50 == 0:
            progress("queries", i, len(questions))
    return np.vstack(vectors) if vectors else np.zeros((0, embedder.dimension), dtype=np.float32)


def _methods() -> Iterator[tuple[str, Searcher]]:
    analyzer = Analyzer()
    yield "hybrid", Searcher(analyzer, FusionMethod.WEIGHTED, DEFAULT_DENSE_WEIGHT)
    yield "bm25", Searcher(analyzer, FusionMethod.LEXICAL)
    yield "dense", Searcher(analyzer, FusionMethod.DENSE)
    yield "rrf", Searcher(analyzer, FusionMethod.RRF)


def evaluate(
    path: Path,
    config: EngineConfig,
    distractors: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
    sweep: bool = False,
) -> dict[str, Any]:
    """Run the whole evaluation; the model and embedding cache of ``config`` are reused."""
    started = time.perf_counter()
    articles, questions = load_squad(path)
    if limit:
        questions = questions[:limit]
    extra = load_distractors(distractors)
    analyzer = Analyzer()
    embedder = Embedder.load(
        config.embedding_model,
        config.models_dir,
        config.embedding_cache,
        config.embedding_batch_size,
        sentence_vectors=config.sentence_vectors,  # eval what the product would run
    )
    index = build_index([*articles, *extra], embedder, analyzer, progress=progress)
    queries = _encode_queries(embedder, questions, progress)
    gold = [q.article_id for q in questions]

    report: dict[str, Any] = {
        "file": str(path),
        "questions": len(questions),
        "paragraphs": len(articles),
        "distractor_articles": len(extra),
        "passages": index.manifest.passages,
        "model": embedder.model_id,
        "methods": {},
    }
    hybrid_ranked: list[list[RankedPassage]] = []
    for name, searcher in _methods():
        rankings = []
        for q, vector in zip(questions, queries, strict=True):
            ranked = searcher.passages(index, q.text, vector)
            rankings.append(_article_ranking(index, ranked))
            if name == "hybrid":
                hybrid_ranked.append(ranked)
        report["methods"][name] = _retrieval_scores(rankings, gold)
    if sweep:
        report["sweep"] = {
            f"{w:.1f}": _retrieval_scores(
                [
                    _article_ranking(index, Searcher(analyzer, FusionMethod.WEIGHTED, w).passages(index, q.text, v))
                    for q, v in zip(questions, queries, strict=True)
                ],
                gold,
            )
            for w in np.arange(0.0, 1.01, 0.1)
        }

    background = Background.embed(embedder)
    first = any_ = found = 0
    for q, vector, ranked in zip(questions, queries, hybrid_ranked, strict=True):
        baseline = background.baseline(vector)
        answer = compose_answer(index, analyzer, q.text, vector, ranked, baseline, config.answer_sentences)
        found += answer.found
        if answer.citations:
            first += contains_answer(answer.citations[0].sentence, q.answer)
            any_ += any(contains_answer(c.sentence, q.answer) for c in answer.citations)
    n = len(questions) or 1
    report["answers"] = {
        "first_sentence_contains_answer": first / n,
        "any_sentence_contains_answer": any_ / n,
        "found": found / n,
    }
    report["unanswerable"] = _unanswerable(articles, questions, embedder, analyzer, queries, background)
    report["answer_removed"] = _answer_removed(articles, questions, embedder, analyzer, queries, background)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _unanswerable(
    articles: list[Article],
    questions: list[Question],
    embedder: Embedder,
    analyzer: Analyzer,
    queries: np.ndarray,
    background: Background,
) -> dict[str, float]:
    """Questions whose topic was removed from the corpus must come back not found."""
    group_of = {q.article_id: q.group for q in questions}
    kept = [a for a in articles if group_of.get(a.id, 0) % 2 == 0]
    index = build_index(kept, embedder, analyzer)
    asked = [(q, v) for q, v in zip(questions, queries, strict=True) if q.group % 2 == 1]
    return _found_share(index, analyzer, background, asked)


def _found_share(
    index: LoadedIndex, analyzer: Analyzer, background: Background, asked: list[tuple[Question, np.ndarray]]
) -> dict[str, float]:
    """How many of the ``asked`` questions (with their query vectors) ``index`` answers."""
    searcher = Searcher(analyzer)
    found = 0
    for q, vector in asked:
        ranked = searcher.passages(index, q.text, vector)
        found += compose_answer(index, analyzer, q.text, vector, ranked, background.baseline(vector)).found
    return {"questions": len(asked), "found": found / (len(asked) or 1)}


def answer_removed(articles: list[Article], questions: list[Question]) -> tuple[list[Article], list[Question]]:
    """Each paragraph without the sentences holding its first answerable question's answer,
    and those questions. The rest of the paragraph still names what the question names,
    but the answer text is nowhere in it; paragraphs where it would be are left out."""
    first: dict[str, Question] = {}
    for q in questions:
        if q.answer:
            first.setdefault(q.article_id, q)
    holed: list[Article] = []
    asked: list[Question] = []
    for article in articles:
        question = first.get(article.id)
        if question is None:
            continue
        sentences = split_sentences(article)
        kept = [s.text for s in sentences if not contains_answer(s.text, question.answer)]
        text = " ".join(kept)
        if not kept or len(kept) == len(sentences) or contains_answer(text, question.answer):
            continue
        holed.append(replace(article, id=article.id + "-answer-removed", text=text))
        asked.append(question)
    return holed, asked


def _answer_removed(
    articles: list[Article],
    questions: list[Question],
    embedder: Embedder,
    analyzer: Analyzer,
    queries: np.ndarray,
    background: Background,
) -> dict[str, float]:
    """Questions asked of a corpus of paragraphs whose answer sentences were cut out."""
    holed, asked = answer_removed(articles, questions)
    if not holed:
        return {"questions": 0, "found": 0.0}
    index = build_index(holed, embedder, analyzer)
    vector_of = {q.id: v for q, v in zip(questions, queries, strict=True)}
    return _found_share(index, analyzer, background, [(q, vector_of[q.id]) for q in asked])


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['questions']} questions over {report['paragraphs']} paragraphs"
        f" + {report['distractor_articles']} distractor articles ({report['passages']} passages),"
        f" model {report['model']}, {report['seconds']} s",
        "",
        f"{'method':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7}",
    ]
    for name, scores in report["methods"].items():
        lines.append(
            f"{name:<8} {scores['recall@1']:>6.3f} {scores['recall@5']:>6.3f} "
            f"{scores['recall@10']:>6.3f} {scores['mrr@10']:>7.3f}"
        )
    for weight, scores in report.get("sweep", {}).items():
        lines.append(f"w={weight:<6} {scores['recall@1']:>6.3f} {scores['recall@5']:>6.3f} "
                     f"{scores['recall@10']:>6.3f} {scores['mrr@10']:>7.3f}")  # fmt: skip
    a = report["answers"]
    u = report["unanswerable"]
    lines += [
        "",
        f"answers (hybrid): first cited sentence contains the answer {a['first_sentence_contains_answer']:.3f}, "
        f"some cited sentence {a['any_sentence_contains_answer']:.3f}, found {a['found']:.3f}",
        f"unanswerable (topic removed, {u['questions']} questions): found {u['found']:.3f} (lower is better)",
    ]
    removed = report.get("answer_removed")
    if removed:
        lines.append(
            f"answer removed from its paragraph ({removed['questions']} questions): found {removed['found']:.3f} "
            "(lower is better)"
        )
    return "\n".join(lines)
