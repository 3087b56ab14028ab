"""Fit the answer confidence (retrieval/answering/confidence.py) on a SQuAD-format file.

    .venv/bin/python scripts/fit_confidence.py ../shared/data/xquad-vi/xquad.vi.json \\
        --features /tmp/conf_features.npz

Collects once (``hoptac eval``'s own run, which takes minutes) every answer's evidence:
the answerable questions, the topic-removed and the answer-removed ones, each asked with
and without diacritics, and keeps them in ``--features``; later runs fit from that file in
seconds. Then:

* a logistic regression: positives are the found answerable questions whose first quote
  holds the answer, negatives the other found ones (wrong first quote, answer removed,
  topic removed); fitted held out by SQuAD article, two ways (on the odd articles, scored on
  the even ones, and the other way round), so every answer has a held-out score;
* the trade-off curves: for each threshold on the held-out logit, the rows of ``hoptac
  eval``'s confidence table, with and without diacritics, as Markdown tables (as in
  docs/confidence.md);
* the chosen thresholds, one for each way of typing: the lowest meeting the targets for
  the first quote of confident answers, answer-removed and topic-removed questions;
* the final weights, fitted on all the answers, to copy into retrieval/answering/confidence.py.

Development tool: it needs scikit-learn (installed with sentence-transformers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from hoptac.settings import Settings
from measure.evaluation import ANSWER_REMOVED, ANSWERABLE, TOPIC_REMOVED, AnswerRecord, evaluate
from retrieval.answering.confidence import FEATURES, design

KINDS = (ANSWERABLE, TOPIC_REMOVED, ANSWER_REMOVED)
C = 1.0


def collect(path: Path, settings: Settings, out: Path, splits: tuple[str, ...] = ()) -> None:
    records: list[AnswerRecord] = []
    report = evaluate(path, settings.engine_config(), records=records, splits=splits)
    width = next((len(r.evidence) for r in records if r.evidence is not None), len(FEATURES))
    evidence = np.array(
        [r.evidence if r.evidence is not None else np.full(width, np.nan) for r in records], dtype=np.float64
    )
    np.savez_compressed(
        out,
        evidence=evidence,
        kind=np.array([KINDS.index(r.kind) for r in records]),
        group=np.array([r.group for r in records]),
        accented=np.array([r.accented for r in records]),
        found=np.array([r.found for r in records]),
        confidence=np.array([r.confidence == "high" for r in records]),
        first_right=np.array([r.first_right for r in records]),
        report=np.array(json.dumps(report)),
    )


class Data:
    def __init__(self, path: Path) -> None:
        data = np.load(path)
        self.evidence = data["evidence"]
        self.x = design(self.evidence)
        self.kind = data["kind"]
        self.group = data["group"]
        self.accented = data["accented"]
        self.found = data["found"]
        self.first_right = data["first_right"]
        self.report = json.loads(str(data["report"]))
        self.label = self.found & self.first_right & (self.kind == 0)


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Raw-feature weights and bias of a logistic regression on standardised features."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=C, max_iter=2000).fit((x - mean) / std, y)
    weights = model.coef_[0] / std
    return weights, float(model.intercept_[0] - weights @ mean)


def held_out_logits(d: Data) -> np.ndarray:
    """Each found answer's logit from the model fitted on the other half of the SQuAD articles."""
    logits = np.full(len(d.kind), -np.inf)
    for part in (0, 1):
        train = d.found & (d.group % 2 != part)
        test = d.found & (d.group % 2 == part)
        w, b = fit(d.x[train], d.label[train])
        logits[test] = d.x[test] @ w + b
    return logits


def rows(d: Data, confident: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, accented in (("with", True), ("without", False)):
        way = d.accented == accented

        def share(kind: int, test: np.ndarray, way: np.ndarray = way) -> float:
            of_kind = way & (d.kind == kind)
            return float(test[of_kind].mean()) if of_kind.any() else 0.0

        sure = way & (d.kind == 0) & confident
        out[name] = {
            "precision": float(d.first_right[sure].mean()) if sure.any() else 0.0,
            "confident": share(0, confident),
            "found": share(0, d.found),
            "answer_removed": share(2, confident),
            "topic_removed": share(1, confident),
        }
    return out


def meets(v: dict[str, float]) -> bool:
    return v["precision"] >= 0.85 and v["answer_removed"] <= 0.35 and v["topic_removed"] <= 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--features", type=Path, default=Path("/tmp/conf_features.npz"))
    parser.add_argument("--split", action="append", default=[], help="only this split of the file (qa-train: dev)")
    parser.add_argument(
        "--selector", choices=["trained", "off"], default="trained", help="fit for answers with or without the selector"
    )
    args = parser.parse_args()
    if not args.features.is_file():
        collect(args.squad, Settings(answer_selector=args.selector), args.features, tuple(args.split))
    d = Data(args.features)
    found = d.found
    features = FEATURES[: d.evidence.shape[1]]
    print(f"{len(d.kind)} answers, {int(found.sum())} found; features {', '.join(features)} (and times accented)")
    logits = held_out_logits(d)
    chosen: dict[str, float | None] = {"with": None, "without": None}
    for way in chosen:
        print(f"\nheld out, questions {way} diacritics (* meets the targets but answerable confident >= 0.80)")
        print("| logit >= | first quote right (confident) | answerable confident | answerable found"
              " | answer removed confident | topic removed confident |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for t in np.round(np.arange(-1.0, 2.01, 0.125), 3):
            v = rows(d, found & (logits >= t))[way]
            mark = " *" if meets(v) else ""
            print(
                f"| {t:+.3f}{mark} | {v['precision']:.3f} | {v['confident']:.3f} | {v['found']:.3f} "
                f"| {v['answer_removed']:.3f} | {v['topic_removed']:.3f} |"
            )
            if chosen[way] is None and meets(v):
                chosen[way] = float(t)
    print(f"\nchosen thresholds: {chosen}")
    weights, bias = fit(d.x[found], d.label[found])
    print(f"CONFIDENCE_WEIGHTS = {tuple(round(float(v), 3) for v in weights)}")
    print(f"CONFIDENCE_BIAS = {round(bias, 3)}")
    names = [*features, *(f"accented*{f}" for f in features if f != "accented")]
    for name, v in zip(names, weights, strict=True):
        print(f"  {name:<28} {v:+.3f}")
    if None not in chosen.values():
        threshold = np.where(d.evidence[:, FEATURES.index("accented")] > 0, chosen["with"], chosen["without"])
        r = rows(d, found & (d.x @ weights + bias >= threshold))
        print(f"fitted on all, chosen thresholds (in sample): {json.dumps(r)}")


if __name__ == "__main__":
    main()
