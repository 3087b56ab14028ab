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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval.answering.background import Background
from retrieval.answering.fusion import DEFAULT_DENSE_WEIGHT, FusionMethod
from retrieval.answering.search import RankedPassage, Searcher
from retrieval.answering.search_index import SearchIndex
from retrieval.answering.sentence_choice import MOST_ANSWER_PASSAGES, Selection, compose_answer
from retrieval.articles.passages import passage_windows
from retrieval.articles.sentences import split_sentences
from retrieval.config import EngineConfig
from retrieval.embedding.embedder import Embedder
from retrieval.engine import Progress
from retrieval.local.index import LoadedIndex, build_index
from retrieval.models import Answer, Article
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.subject import holds_key_words
from retrieval.vietnamese.text import fold, nfc

if TYPE_CHECKING:
    from retrieval.milvus.index import MilvusIndex


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    article_id: str
    group: int  # which SQuAD article (topic) it belongs to
    answer: str


class NoQuestions(ValueError):
    """The file (or the splits asked for) holds no question."""


def load_squad(path: Path, splits: tuple[str, ...] = (), prefix: str = "squad") -> tuple[list[Article], list[Question]]:
    """Every paragraph as an article, every question; with ``splits``, only the entries whose
    ``split`` (the qa-train files' article-level split: "train", "dev(public_test)", ...)
    starts with one of them."""
    data = json.loads(path.read_text("utf-8"))
    articles: list[Article] = []
    questions: list[Question] = []
    for group, entry in enumerate(data["data"]):
        if splits and not str(entry.get("split", "")).startswith(splits):
            continue
        title = nfc(str(entry.get("title", f"article {group}")).replace("_", " "))
        for number, paragraph in enumerate(entry["paragraphs"]):
            article_id = f"{prefix}-{group:03d}-{number:02d}"
            articles.append(
                Article(id=article_id, title=title, published=None, source="XQuAD", text=nfc(paragraph["context"]))
            )
            for qa in paragraph["qas"]:
                answer = nfc(qa["answers"][0]["text"]) if qa.get("answers") else ""
                questions.append(Question(qa["id"], nfc(qa["question"]), article_id, group, answer))
    return articles, questions


def load_distractors(count: int, path: Path, seed: int = 13) -> list[Article]:
    """Whole news articles of the JSONL ``path``, in a fixed random order, until they make ``count`` passages."""
    if count <= 0:
        return []
    if not path.exists():
        raise FileNotFoundError(f"distractors need {path}, which is absent")
    from retrieval.articles.importers import import_path

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


def _article_ranking(index: SearchIndex, ranked: list[RankedPassage], k: int = 10) -> list[str]:
    seen: dict[str, None] = {}
    for item in ranked:
        seen.setdefault(index.article_id_of_passage(item.passage), None)
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


class EvalCorpus(Protocol):
    """A corpus the evaluation asks: the local index, or the same articles in Milvus."""

    @property
    def passages(self) -> int: ...

    def search(self, searcher: Searcher, text: str, vector: np.ndarray) -> tuple[SearchIndex, list[RankedPassage]]:
        """The index to compose from, and the fused ranking of ``text``."""


@dataclass
class LocalCorpus:
    index: LoadedIndex

    @property
    def passages(self) -> int:
        return self.index.manifest.passages

    def search(self, searcher: Searcher, text: str, vector: np.ndarray) -> tuple[SearchIndex, list[RankedPassage]]:
        return self.index, searcher.passages(self.index, text, vector)


@dataclass
class MilvusCorpus:
    """The articles written to Milvus collections of their own (``{prefix}_eval_{name}``)."""

    milvus: MilvusIndex
    passages: int

    def search(self, searcher: Searcher, text: str, vector: np.ndarray) -> tuple[SearchIndex, list[RankedPassage]]:
        view = self.milvus.view(text, vector)
        ranked = searcher.passages(view, text, vector)
        view.fetch_sentences(r.passage for r in ranked[:MOST_ANSWER_PASSAGES])
        return view, ranked


CorpusBuilder = Callable[[list[Article], str], EvalCorpus]


def local_builder(embedder: Embedder, analyzer: Analyzer, progress: Progress | None = None) -> CorpusBuilder:
    def build(articles: list[Article], name: str) -> EvalCorpus:
        return LocalCorpus(build_index(articles, embedder, analyzer, progress=progress if name == "main" else None))

    return build


def milvus_builder(search_url: str, prefix: str, embedder: Embedder, analyzer: Analyzer) -> CorpusBuilder:
    from retrieval.milvus.index import MilvusIndex

    def build(articles: list[Article], name: str) -> EvalCorpus:
        milvus = MilvusIndex.connect(search_url, f"{prefix}_eval_{name}", embedder.model_id, embedder.dimension,
                                     analyzer, embedder)  # fmt: skip
        prepared = milvus.prepare(articles)
        milvus.rebuild(prepared)
        return MilvusCorpus(milvus, len(prepared.passages))

    return build


def evaluate(
    path: Path,
    config: EngineConfig,
    distractors: int = 0,
    distractors_jsonl: Path | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    sweep: bool = False,
    records: list[AnswerRecord] | None = None,
    search_url: str | None = None,
    search_prefix: str = "hoptac",
    splits: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run the whole evaluation; the model and embedding cache of ``config`` are reused.
    ``distractors`` passages of whole news articles from ``distractors_jsonl`` join the corpus.
    With ``search_url`` the corpora are written to and searched in Milvus (collections
    ``{search_prefix}_eval_*``) instead of the local index."""
    started = time.perf_counter()
    articles, questions = load_squad(path, splits)
    if not questions:
        raise NoQuestions(f"{path} has no questions" + (f" in split {', '.join(splits)}" if splits else ""))
    if limit:
        questions = questions[:limit]
    if distractors > 0 and distractors_jsonl is None:
        raise ValueError("distractors need a JSONL of news articles")
    extra = load_distractors(distractors, distractors_jsonl) if distractors_jsonl is not None else []
    analyzer = Analyzer()
    embedder = config.load_embedder()  # eval what the product would run, the answer selector included
    selections: dict[str, Selection | None] = {}

    def select(text: str) -> Selection | None:
        if text not in selections:
            selections[text] = Selection.of(embedder, text)
        return selections[text]

    if search_url is not None:
        build = milvus_builder(search_url, search_prefix, embedder, analyzer)
    else:
        build = local_builder(embedder, analyzer, progress)
    corpus = build([*articles, *extra], "main")
    queries = _encode_queries(embedder, questions, progress)
    gold = [q.article_id for q in questions]

    report: dict[str, Any] = {
        "file": str(path),
        "splits": list(splits),
        "questions": len(questions),
        "paragraphs": len(articles),
        "distractor_articles": len(extra),
        "passages": corpus.passages,
        "model": embedder.model_id,
        "search": "milvus" if search_url is not None else "local",
        "answer_selector": embedder.selector is not None,
        "methods": {},
    }
    hybrid_ranked: list[tuple[SearchIndex, list[RankedPassage]]] = []
    for name, searcher in _methods():
        rankings = []
        for q, vector in zip(questions, queries, strict=True):
            searched, ranked = corpus.search(searcher, q.text, vector)
            rankings.append(_article_ranking(searched, ranked))
            if name == "hybrid":
                hybrid_ranked.append((searched, ranked))
        report["methods"][name] = _retrieval_scores(rankings, gold)
    if sweep:
        report["sweep"] = {
            f"{w:.1f}": _retrieval_scores(
                [
                    _article_ranking(*corpus.search(Searcher(analyzer, FusionMethod.WEIGHTED, w), q.text, v))
                    for q, v in zip(questions, queries, strict=True)
                ],
                gold,
            )
            for w in np.arange(0.0, 1.01, 0.1)
        }

    background = Background.embed(embedder)
    folded = [fold(q.text) for q in questions]
    folded_queries = np.vstack([embedder.encode_query(t) for t in folded]) if folded else queries
    answerable = [
        *(Asked(q, q.text, v, ANSWERABLE) for q, v in zip(questions, queries, strict=True)),
        *(Asked(q, t, v, ANSWERABLE, True) for q, t, v in zip(questions, folded, folded_queries, strict=True)),
    ]
    given = {id(a): r for a, r in zip(answerable, hybrid_ranked, strict=False)}  # the ones as written
    answers = _ask(corpus, analyzer, background, answerable, config.answer_sentences, given, select=select)
    first = any_ = found = 0
    accented = list(zip(answerable, answers, strict=True))[: len(questions)]
    for asked, answer in accented:
        found += answer.found
        if answer.citations:
            first += contains_answer(answer.citations[0].sentence, asked.question.answer)
            any_ += any(contains_answer(c.sentence, asked.question.answer) for c in answer.citations)
    n = len(questions) or 1
    report["answers"] = {
        "first_sentence_contains_answer": first / n,
        "any_sentence_contains_answer": any_ / n,
        "found": found / n,
    }
    before = _ask(
        corpus, analyzer, background, answerable, config.answer_sentences, given, earned_quotes=False, select=select
    )
    report["extra_quotes"] = {
        "before": _extra_quotes(analyzer, answerable, before),
        "after": _extra_quotes(analyzer, answerable, answers),
    }
    collected = [_record(a, ans) for a, ans in zip(answerable, answers, strict=True)]
    topic = _topic_removed(articles, questions, build, analyzer, background, queries, folded_queries, select)
    removed = _answer_removed(articles, questions, build, analyzer, background, queries, folded_queries, select)
    collected += [_record(a, ans) for a, ans in (*topic, *removed)]
    report["unanswerable"] = _found_share([ans for a, ans in topic if not a.folded])
    report["answer_removed"] = _found_share([ans for a, ans in removed if not a.folded])
    report["confidence"] = confidence_table(collected)
    if records is not None:
        records.extend(collected)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


ANSWERABLE = "answerable"
TOPIC_REMOVED = "topic removed"
ANSWER_REMOVED = "answer removed"


@dataclass(frozen=True)
class Asked:
    """One question asked one way (as written, or folded: without diacritics) of one corpus."""

    question: Question
    text: str
    vector: np.ndarray
    kind: str  # ANSWERABLE, TOPIC_REMOVED or ANSWER_REMOVED
    folded: bool = False  # asked without diacritics

    @property
    def accented(self) -> bool:
        return not self.folded


@dataclass(frozen=True)
class AnswerRecord:
    """What the confidence table (and scripts/fit_confidence.py) needs of one answer."""

    kind: str
    group: int
    accented: bool
    found: bool
    confidence: str | None
    first_right: bool  # the first quoted sentence holds the gold answer
    evidence: np.ndarray | None


def _record(asked: Asked, answer: Answer) -> AnswerRecord:
    first_right = bool(answer.citations) and contains_answer(answer.citations[0].sentence, asked.question.answer)
    return AnswerRecord(
        asked.kind, asked.question.group, asked.accented, answer.found, answer.confidence, first_right, answer.evidence
    )


def _ask(
    corpus: EvalCorpus,
    analyzer: Analyzer,
    background: Background,
    asked: list[Asked],
    limit: int = 3,
    ranked_for: dict[int, tuple[SearchIndex, list[RankedPassage]]] | None = None,
    earned_quotes: bool = True,
    select: Callable[[str], Selection | None] | None = None,
) -> list[Answer]:
    searcher = Searcher(analyzer)
    answers = []
    for a in asked:
        index, ranked = (ranked_for or {}).get(id(a)) or corpus.search(searcher, a.text, a.vector)
        answers.append(
            compose_answer(
                index, analyzer, a.text, a.vector, ranked, background.baseline(a.vector), limit,
                earned_quotes=earned_quotes, selection=select(a.text) if select else None,
            )
        )  # fmt: skip
    return answers


def _extra_quotes(analyzer: Analyzer, asked: list[Asked], answers: list[Answer]) -> dict[str, float]:
    """The 2nd and 3rd quotes, and the share holding neither the gold answer nor the
    question's key words (:func:`retrieval.subject.holds_key_words`)."""
    extra = stray = 0
    for a, answer in zip(asked, answers, strict=True):
        for citation in answer.citations[1:]:
            extra += 1
            stray += not (
                contains_answer(citation.sentence, a.question.answer)
                or holds_key_words(analyzer, a.text, citation.sentence)
            )
    return {
        "answers": len(answers),
        "extra_quotes": extra,
        "per_answer": extra / (len(answers) or 1),
        "neither_answer_nor_key_words": stray / (extra or 1),
    }


def _found_share(answers: list[Answer]) -> dict[str, float]:
    return {"questions": len(answers), "found": sum(a.found for a in answers) / (len(answers) or 1)}


def _both_ways(questions: list[Question], vectors: dict[str, tuple[np.ndarray, np.ndarray]], kind: str) -> list[Asked]:
    return [
        *(Asked(q, q.text, vectors[q.id][0], kind) for q in questions),
        *(Asked(q, fold(q.text), vectors[q.id][1], kind, True) for q in questions),
    ]


def _topic_removed(
    articles: list[Article],
    questions: list[Question],
    build: CorpusBuilder,
    analyzer: Analyzer,
    background: Background,
    queries: np.ndarray,
    folded_queries: np.ndarray,
    select: Callable[[str], Selection | None] | None = None,
) -> list[tuple[Asked, Answer]]:
    """Questions whose topic was removed from the corpus: they should come back not found."""
    group_of = {q.article_id: q.group for q in questions}
    kept = [a for a in articles if group_of.get(a.id, 0) % 2 == 0]
    corpus = build(kept, "topic_removed")
    vectors = {q.id: (v, f) for q, v, f in zip(questions, queries, folded_queries, strict=True)}
    asked = _both_ways([q for q in questions if q.group % 2 == 1], vectors, TOPIC_REMOVED)
    return list(zip(asked, _ask(corpus, analyzer, background, asked, select=select), strict=True))


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
    build: CorpusBuilder,
    analyzer: Analyzer,
    background: Background,
    queries: np.ndarray,
    folded_queries: np.ndarray,
    select: Callable[[str], Selection | None] | None = None,
) -> list[tuple[Asked, Answer]]:
    """Questions asked of a corpus of paragraphs whose answer sentences were cut out."""
    holed, chosen = answer_removed(articles, questions)
    if not holed:
        return []
    corpus = build(holed, "answer_removed")
    vectors = {q.id: (v, f) for q, v, f in zip(questions, queries, folded_queries, strict=True)}
    asked = _both_ways(chosen, vectors, ANSWER_REMOVED)
    return list(zip(asked, _ask(corpus, analyzer, background, asked, select=select), strict=True))


def confidence_table(records: list[AnswerRecord]) -> dict[str, dict[str, float]]:
    """Per way of typing (with / without diacritics): answerable questions answered
    confidently and at all (confidently or as related), the share of confident answers whose
    first quote holds the answer, and the answer-removed and topic-removed questions
    answered confidently (and at all)."""
    table: dict[str, dict[str, float]] = {}
    for name, accented in (("with diacritics", True), ("without diacritics", False)):
        rows = [r for r in records if r.accented == accented]

        def share(kind: str, test: Callable[[AnswerRecord], bool], rows: list[AnswerRecord] = rows) -> float:
            of_kind = [r for r in rows if r.kind == kind]
            return sum(map(test, of_kind)) / (len(of_kind) or 1)

        confident = [r for r in rows if r.kind == ANSWERABLE and r.confidence == "high"]
        table[name] = {
            "questions": sum(r.kind == ANSWERABLE for r in rows),
            "first_holds_answer": share(ANSWERABLE, lambda r: r.first_right),
            "confident_first_holds_answer": sum(r.first_right for r in confident) / (len(confident) or 1),
            "answerable_confident": share(ANSWERABLE, lambda r: r.confidence == "high"),
            "answerable_found": share(ANSWERABLE, lambda r: r.found),
            "answer_removed_confident": share(ANSWER_REMOVED, lambda r: r.confidence == "high"),
            "answer_removed_found": share(ANSWER_REMOVED, lambda r: r.found),
            "topic_removed_confident": share(TOPIC_REMOVED, lambda r: r.confidence == "high"),
            "topic_removed_found": share(TOPIC_REMOVED, lambda r: r.found),
        }
    return table


CONFIDENCE_ROWS = (
    ("first_holds_answer", "answerable: first quote holds the answer", ""),
    ("confident_first_holds_answer", "confident answers: first quote holds the answer", ">= 0.85"),
    ("answerable_confident", "answerable, answered confidently", ">= 0.80"),
    ("answerable_found", "answerable, answered confidently or as related", ">= 0.95"),
    ("answer_removed_confident", "answer removed, answered confidently", "<= 0.35"),
    ("answer_removed_found", "answer removed, answered at all", ""),
    ("topic_removed_confident", "topic removed, answered confidently", "<= 0.02"),
    ("topic_removed_found", "topic removed, answered at all", ""),
)


def format_confidence(table: dict[str, dict[str, float]]) -> list[str]:
    names = list(table)
    lines = [f"{'confidence':<50} {'target':>8} " + " ".join(f"{n:>18}" for n in names)]
    for key, label, target in CONFIDENCE_ROWS:
        lines.append(f"{label:<50} {target:>8} " + " ".join(f"{table[n][key]:>18.3f}" for n in names))
    return lines


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
    extra = report.get("extra_quotes")
    if extra:
        b, a = extra["before"], extra["after"]
        lines.append(
            "extra quotes (2nd, 3rd) holding neither the answer nor the question's key words: "
            f"{b['neither_answer_nor_key_words']:.3f} of {b['extra_quotes']} by the margin alone (before), "
            f"{a['neither_answer_nor_key_words']:.3f} of {a['extra_quotes']} when each must earn its place (after)"
        )
    if report.get("confidence"):
        lines += ["", *format_confidence(report["confidence"])]
    return "\n".join(lines)
