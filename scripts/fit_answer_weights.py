"""Fit the answer weights (retrieval/answering/sentence_choice.py, ``WEIGHTS``) on a SQuAD-format file.

    .venv/bin/python scripts/fit_answer_weights.py ../shared/data/xquad-vi/xquad.vi.json \\
        --sentence-vectors span

Prints, for the way of making sentence vectors asked for:

* the sentence score: a linear ranker, a softmax over each question's candidate sentences
  trained to put the sentences holding the gold answer first (L2 on standardised
  features), scaled so the cosine weighs 1; measured held out (fitted on half the SQuAD
  articles, scored on the other half, and the other way round) against the weights in use;
* the follow-up margin that quotes as many sentences on average as ``--sentences-per-answer``;
* the found decision: a logistic regression over the best sentence's margin above the
  background and its coverage of the question's words (slopes of their own for questions
  typed with diacritics); positives are the questions with and without diacritics, negatives
  the same questions asked of a corpus their SQuAD article was removed from.

Development tool: it needs scipy and scikit-learn (installed with sentence-transformers) and
the embedding cache makes a second run take minutes. Copy the printed weights into
``WEIGHTS``, then measure with ``hoptac eval``.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from hoptac.settings import Settings
from measure.evaluation import answer_removed, contains_answer, load_squad
from retrieval.answering.background import Background
from retrieval.answering.search import Searcher
from retrieval.answering.sentence_choice import (
    FOUND_THRESHOLD,
    SELECTOR_WEIGHTS,
    SELECTOR_WEIGHTS_UNACCENTED,
    WEIGHTS,
    AnswerWeights,
    Selection,
    found_score,
    sentence_features,
)
from retrieval.embedding.answer_selector import SHIPPED
from retrieval.local.engine import LocalEngine
from retrieval.local.index import build_index
from retrieval.vietnamese.analyzer import Analyzer, QueryForm
from retrieval.vietnamese.text import fold

L2 = 0.01


@dataclasses.dataclass
class Asked:
    group: int
    values: np.ndarray  # (n, 4) sentence features, (n, 7) with the selector
    labels: np.ndarray  # (n,) holds the gold answer
    baseline: float
    form: QueryForm


def collect(
    path: Path, settings: Settings, splits: tuple[str, ...] = (), selector: Path | None = None
) -> tuple[list[Asked], list[Asked], list[Asked]]:
    """(answerable, unanswerable, answer removed) questions, each asked with and without
    diacritics: unanswerable ones of a corpus their SQuAD article was removed from, answer
    removed ones of paragraphs without their answer's sentences (:func:`answer_removed`).
    With ``selector`` (a trained answer selector's folder) the features have its score too."""
    articles, questions = load_squad(path, splits)
    analyzer = Analyzer()
    embedder = LocalEngine(dataclasses.replace(settings.engine_config(), answer_selector="off")).embedder()
    if selector is not None:
        embedder.attach_selector(selector)
    background = Background.embed(embedder)
    searcher = Searcher(analyzer)
    group_of = {q.article_id: q.group for q in questions}
    full = build_index(articles, embedder, analyzer)
    half = build_index([a for a in articles if group_of.get(a.id, 0) % 2 == 0], embedder, analyzer)
    holed_articles, holed_questions = answer_removed(articles, questions)
    holed = build_index(holed_articles, embedder, analyzer)
    removed: list[Asked] = []
    for q in holed_questions:
        for text in (q.text, fold(q.text)):
            vector = embedder.encode_query(text)
            selection = Selection.of(embedder, text)
            f = sentence_features(holed, analyzer, text, vector, searcher.passages(holed, text, vector), selection)
            labels = np.zeros(len(f.rows), dtype=bool)
            removed.append(Asked(q.group, f.values, labels, background.baseline(vector), analyzer.query_form(text)))
    answerable: list[Asked] = []
    unanswerable: list[Asked] = []
    for n, q in enumerate(questions):
        if n % 100 == 0:
            print(f"asking {n}/{len(questions)}", file=sys.stderr)
        for text in (q.text, fold(q.text)):
            vector = embedder.encode_query(text)
            selection = Selection.of(embedder, text)
            baseline = background.baseline(vector)
            form = analyzer.query_form(text)
            for index, into in ((full, answerable), (half, unanswerable)):
                if index is half and q.group % 2 == 0:
                    continue
                ranked = searcher.passages(index, text, vector)
                f = sentence_features(index, analyzer, text, vector, ranked, selection)
                labels = np.array([contains_answer(index.sentence(r).text, q.answer) for r in f.rows], dtype=bool)
                into.append(Asked(q.group, f.values, labels, baseline, form))
    return answerable, unanswerable, removed


def fit_ranker(asked: list[Asked]) -> np.ndarray:
    """Raw-feature weights (cosine weighs 1) of the softmax ranker fitted on ``asked``."""
    usable = [a for a in asked if a.labels.any() and len(a.labels) > 1]
    stacked = np.vstack([a.values for a in usable])
    mean, std = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    xs = [(a.values - mean) / std for a in usable]
    ys = [a.labels / a.labels.sum() for a in usable]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, y in zip(xs, ys, strict=True):
            s = x @ w
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            total -= float(y @ np.log(p + 1e-12))
            grad += x.T @ (p - y)
        n = len(xs)
        return total / n + L2 * float(w @ w), grad / n + 2 * L2 * w

    w = minimize(loss, np.ones(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    raw = w / std
    return raw / abs(raw[0])  # without diacritics the cosine may weigh against


def first_right(asked: list[Asked], weights: np.ndarray) -> float:
    hits = [bool(a.labels[int(np.argmax(a.values @ weights))]) for a in asked if len(a.labels)]
    return sum(hits) / max(len(asked), 1)


def sentences_per_answer(asked: list[Asked], weights: np.ndarray, margin: float, limit: int = 3) -> float:
    counts = []
    for a in asked:
        if len(a.labels):
            s = a.values @ weights
            counts.append(min(limit, int((s >= s.max() - margin).sum())))
    return float(np.mean(counts))


def margin_for(asked: list[Asked], weights: np.ndarray, target: float) -> float:
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if sentences_per_answer(asked, weights, middle) < target else (low, middle)
    return round((low + high) / 2, 3)


def any_right(asked: list[Asked], weights: np.ndarray, margin: float, limit: int = 3) -> float:
    hits = 0
    for a in asked:
        if len(a.labels):
            s = a.values @ weights
            order = np.argsort(-s, kind="stable")[:limit]
            hits += bool(a.labels[[i for i in order if s[i] >= s.max() - margin]].any())
    return hits / max(len(asked), 1)


#: A ranker's raw-feature weights, or one for each way of typing (questions typed without
#: diacritics have their own with the selector; the others take the accented one).
Rankers = np.ndarray | dict[QueryForm, np.ndarray]


def ranker_for(weights: Rankers, form: QueryForm) -> np.ndarray:
    if isinstance(weights, dict):
        return weights.get(form, weights[QueryForm.ACCENTED])
    return weights


def found_features(a: Asked, weights: Rankers) -> tuple[float, float, bool, float | None]:
    """The best sentence's margin, coverage, whether accented, and the selector's score (None without)."""
    best = int(np.argmax(a.values @ ranker_for(weights, a.form))) if len(a.labels) else -1
    accented = a.form == QueryForm.ACCENTED
    with_selector = a.values.shape[1] > 4
    if best < 0:
        return -1.0, 0.0, accented, (-10.0 if with_selector else None)
    selected = float(a.values[best, 4]) if with_selector else None
    return float(a.values[best, 0]) - a.baseline, float(a.values[best, 1]), accented, selected


def fit_found(answerable: list[Asked], unanswerable: list[Asked], weights: Rankers) -> tuple[np.ndarray, float]:
    rows, labels = [], []
    for asked, label in ((answerable, 1), (unanswerable, 0)):
        for a in asked:
            if a.form == QueryForm.ENGLISH:
                continue
            margin, coverage, accented, selected = found_features(a, weights)
            row = [margin, coverage, accented * margin, accented * coverage, accented]
            if selected is not None:
                row += [selected, accented * selected]
            rows.append(row)
            labels.append(label)
    model = LogisticRegression(C=100.0, class_weight="balanced", max_iter=1000).fit(np.array(rows), np.array(labels))
    return model.coef_[0], float(model.intercept_[0])


def found_rates(asked: list[Asked], weights: AnswerWeights, sentence_weights: Rankers) -> dict[str, float]:
    rates: dict[str, list[bool]] = {}
    for a in asked:
        margin, coverage, _, selected = found_features(a, sentence_weights)
        rates.setdefault(a.form.name.lower(), []).append(
            found_score(margin, coverage, a.form, weights, selected) >= FOUND_THRESHOLD
        )
    return {form: round(float(np.mean(v)), 3) for form, v in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--sentence-vectors", choices=sorted(WEIGHTS), default="span")
    parser.add_argument("--sentences-per-answer", type=float, default=1.5)
    parser.add_argument(
        "--answer-removed-negatives",
        action="store_true",
        help="fit the found decision with the answer-removed questions as negatives too",
    )
    parser.add_argument("--features", type=Path, help="keep the asked questions' features in this file and reuse them")
    parser.add_argument("--split", action="append", default=[], help="only this split of the file (qa-train: dev)")
    parser.add_argument(
        "--selector",
        type=Path,
        nargs="?",
        const=SHIPPED,
        default=None,
        help="fit the weights used with this answer selector (default folder: the shipped one)",
    )
    args = parser.parse_args()
    settings = Settings(sentence_vectors=args.sentence_vectors)
    if args.features and args.features.is_file():
        answerable, unanswerable, removed = pickle.loads(args.features.read_bytes())
    else:
        answerable, unanswerable, removed = collect(args.squad, settings, tuple(args.split), args.selector)
        if args.features:
            args.features.write_bytes(pickle.dumps((answerable, unanswerable, removed)))
    accented = [a for a in answerable if a.form == QueryForm.ACCENTED]
    with_selector = answerable[0].values.shape[1] > 4
    current = SELECTOR_WEIGHTS if with_selector else WEIGHTS[args.sentence_vectors]
    in_use = current.ranking(answerable[0].values.shape[1])

    held_out = []
    for part in (0, 1):
        train = [a for a in accented if a.group % 2 != part]
        test = [a for a in accented if a.group % 2 == part]
        held_out.append((first_right(test, fit_ranker(train)), first_right(test, in_use), len(test)))
    total = sum(n for *_, n in held_out)
    print(
        "held out, first sentence holds the answer: fitted "
        f"{sum(f * n for f, _, n in held_out) / total:.3f}, "
        f"weights in use {sum(u * n for _, u, n in held_out) / total:.3f}"
    )
    fitted = fit_ranker(accented)
    margin = margin_for(accented, fitted, args.sentences_per_answer)
    print(
        "sentence weights (cosine, coverage, passage, answer type, selector, phrase, previous): "
        f"{np.round(fitted, 3).tolist()}"
    )
    print(f"follow-up margin for {args.sentences_per_answer} sentences an answer: {margin}")
    print(
        "sentences an answer with the weights in use: "
        f"{sentences_per_answer(accented, in_use, current.follow_up_margin):.2f}"
    )
    print(
        f"all questions, first / any: fitted {first_right(accented, fitted):.3f} / "
        f"{any_right(accented, fitted, margin):.3f}; in use {first_right(accented, in_use):.3f} / "
        f"{any_right(accented, in_use, current.follow_up_margin):.3f}"
    )
    rankers: Rankers = fitted
    in_use_rankers: Rankers = in_use
    unaccented_weights = None
    if with_selector:
        unaccented = [a for a in answerable if a.form == QueryForm.UNACCENTED]
        in_use_unaccented = SELECTOR_WEIGHTS_UNACCENTED.ranking()
        held_out = []
        for part in (0, 1):
            train = [a for a in unaccented if a.group % 2 != part]
            test = [a for a in unaccented if a.group % 2 == part]
            own = first_right(test, fit_ranker(train))
            held_out.append((own, first_right(test, fitted), first_right(test, in_use_unaccented), len(test)))
        total = sum(n for *_, n in held_out)
        print(
            "without diacritics, held out, first sentence holds the answer: own ranker "
            f"{sum(f * n for f, _, _, n in held_out) / total:.3f}, the accented one "
            f"{sum(a * n for _, a, _, n in held_out) / total:.3f}, in use "
            f"{sum(u * n for _, _, u, n in held_out) / total:.3f}"
        )
        fitted_unaccented = fit_ranker(unaccented)
        margin_unaccented = margin_for(unaccented, fitted_unaccented, args.sentences_per_answer)
        weights_text = np.round(fitted_unaccented, 3).tolist()
        print(f"without diacritics, sentence weights: {weights_text}, margin {margin_unaccented}")
        rankers = {QueryForm.ACCENTED: fitted, QueryForm.UNACCENTED: fitted_unaccented}
        in_use_rankers = {QueryForm.ACCENTED: in_use, QueryForm.UNACCENTED: in_use_unaccented}
        unaccented_weights = [round(float(w), 3) for w in fitted_unaccented]
    negatives = unanswerable + (removed if args.answer_removed_negatives else [])
    coef, bias = fit_found(answerable, negatives, rankers)
    proposal = dataclasses.replace(
        current,
        dense=1.0,
        coverage=round(float(fitted[1]), 3),
        passage=round(float(fitted[2]), 3),
        answer_type=round(float(fitted[3]), 3),
        selector=round(float(fitted[4]), 3) if with_selector else 0.0,
        phrase=round(float(fitted[5]), 3) if with_selector else 0.0,
        previous=round(float(fitted[6]), 3) if with_selector else 0.0,
        follow_up_margin=margin,
        found=tuple(round(float(c), 2) for c in coef[:5]),  # type: ignore[arg-type]
        found_selector=(round(float(coef[5]), 2), round(float(coef[6]), 2)) if with_selector else (0.0, 0.0),
        found_bias=round(bias + FOUND_THRESHOLD, 2),  # found where the fitted logit is >= 0
    )
    print(f"found weights: {proposal.found}, bias {proposal.found_bias}")
    for shift in (-0.5, 0.0, 0.5, 1.0, 1.5):
        shifted = dataclasses.replace(proposal, found_bias=round(proposal.found_bias - shift, 2))
        print(
            f"  bias {shifted.found_bias}: answerable {found_rates(answerable, shifted, rankers)}, "
            f"topic removed {found_rates(unanswerable, shifted, rankers)}, "
            f"answer removed {found_rates(removed, shifted, rankers)}"
        )
    print(
        f"found (answerable): fitted {found_rates(answerable, proposal, rankers)}, "
        f"in use {found_rates(answerable, current, in_use_rankers)}"
    )
    print(
        f"found (topic removed): fitted {found_rates(unanswerable, proposal, rankers)}, "
        f"in use {found_rates(unanswerable, current, in_use_rankers)}"
    )
    print(
        f"found (answer removed): fitted {found_rates(removed, proposal, rankers)}, "
        f"in use {found_rates(removed, current, in_use_rankers)}"
    )
    print(proposal)
    if unaccented_weights is not None:
        dense, coverage, passage, answer_type, selector, phrase, previous = unaccented_weights
        print(
            "SELECTOR_WEIGHTS_UNACCENTED = dataclasses.replace(SELECTOR_WEIGHTS, "
            f"dense={dense}, coverage={coverage}, passage={passage}, answer_type={answer_type}, "
            f"selector={selector}, phrase={phrase}, previous={previous}, follow_up_margin={margin_unaccented})"
        )
    for name, weights in ({} if with_selector else WEIGHTS).items():
        print(
            f"the {name} found weights with the fitted ranker: answerable {found_rates(answerable, weights, rankers)}, "
            f"topic removed {found_rates(unanswerable, weights, rankers)}, "
            f"answer removed {found_rates(removed, weights, rankers)}"
        )


if __name__ == "__main__":
    main()
