"""Training the answer selector (retrieval/embedding/answer_selector.py) on qa-train.

    hoptac train-selector                       # about an hour on 2 CPU cores; writes var/selector/
    hoptac train-selector --install             # ... and replaces the shipped weights

The protocol (docs/answer-selector.md): train on the ``train`` splits of
``SHARED_DATA_DIR/qa-train`` (UIT-ViQuAD 1.0, the ViNewsQA subset, the mailong25 person
questions with their unanswerable ones), choose the epoch on their dev splits (ViQuAD 1.0
dev, ViQuAD 2.0 public test, ViNewsQA dev, mailong25 dev). XQuAD-vi, which ``hoptac eval``
reports, is never read here.

Each paragraph is segmented and embedded exactly as an ingest does (span-pooled sentence
vectors, int8), so the selector learns against the vectors it meets in the index. A
question (as written, and without diacritics) goes through the base model's lower layers
once; its states at the split are kept, and only the top layers train. Each example is a
choice among the sentences of its paragraph, a few sentences of other paragraphs, and
"none of these" (scored ``null``): the answer's sentences when it has one; "none" for an
unanswerable question and for a copy of an answerable one whose answer sentences were
removed. The loss is the listwise cross-entropy of that choice.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from measure.evaluation import Question, contains_answer, load_squad
from retrieval.embedding.answer_selector import AnswerSelector
from retrieval.embedding.embedder import Embedder
from retrieval.models import Article
from retrieval.preparation import embed_articles
from retrieval.vietnamese.text import fold

#: (file, splits) of qa-train, for training and for choosing the epoch.
TRAIN_FILES = (
    ("viquad1.json", ("train",)),
    ("vinewsqa_train_subset.json", ("train",)),
    ("mailong25_websnippets.json", ("train",)),
)
DEV_FILES = (
    ("viquad1.json", ("dev",)),
    ("viquad2_publictest_answerable.json", ("dev",)),
    ("vinewsqa_devtest.json", ("dev",)),
    ("mailong25_websnippets.json", ("dev",)),
)
#: Sentences of other paragraphs among each example's choices.
OTHER_SENTENCES = 8
#: Share of answerable examples also asked with their answer's sentences removed.
REMOVED_SHARE = 0.3


@dataclass
class Example:
    states: np.ndarray  # (tokens, d) float16: the question's input of the first retrained layer
    choices: np.ndarray  # (n,) sentence rows
    positive: np.ndarray  # (n,) bool; none: "no sentence here answers"
    accented: bool


@dataclass
class Split:
    vectors: np.ndarray  # (sentences, d) float32, as the index holds them (int8 decoded)
    examples: list[Example]


def _articles_and_questions(folder: Path, files: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[list, list]:
    articles: list[Article] = []
    questions: list[tuple[Question, str]] = []
    seen: dict[str, str] = {}
    for name, splits in files:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is absent: the selector trains on ../shared/data/qa-train")
        file_articles, file_questions = load_squad(path, splits, prefix=path.stem)
        rename = {}
        for article in file_articles:  # a context in two files is one article
            first = seen.setdefault(article.text, article.id)
            rename[article.id] = first
            if first == article.id:
                articles.append(article)
        questions.extend((q, rename[q.article_id]) for q in file_questions)
    return articles, questions


def prepare(
    embedder: Embedder,
    folder: Path,
    files: Sequence[tuple[str, tuple[str, ...]]],
    split: int,
    seed: int,
    say: Callable[[str], None],
    limit: int | None = None,
) -> Split:
    """Embed the files' paragraphs as an ingest would, and the questions' states at ``split``."""
    articles, questions = _articles_and_questions(folder, files)
    if limit is not None:
        keep = {a.id for a in articles[:limit]}
        articles = articles[:limit]
        questions = [(q, a) for q, a in questions if a in keep]
    say(f"{len(articles)} paragraphs, {len(questions)} questions: embedding the paragraphs")
    prepared = embed_articles(articles, embedder)
    vectors = prepared.sentence_vectors.decode(slice(None)).astype(np.float32)
    position = {a.id: i for i, a in enumerate(articles)}
    rows_of: dict[int, list[int]] = {}
    for row, (article_i, *_rest) in enumerate(prepared.sentence_rows.tolist()):
        rows_of.setdefault(article_i, []).append(row)
    texts = [fold(q.text) if form else q.text for q, _ in questions for form in (False, True)]
    say(f"the states of {len(texts)} questions (as written and without diacritics)")
    model = embedder.mean_pooling_model()
    states = model.split_states(texts, split)
    rng = random.Random(seed)
    examples: list[Example] = []
    total = len(vectors)
    for n, (question, article_id) in enumerate(questions):
        article_i = position[article_id]
        article = articles[article_i]
        rows = rows_of.get(article_i, [])
        if not rows:
            continue
        sentence_rows = prepared.sentence_rows
        positive = np.array(
            [contains_answer(article.text[sentence_rows[r, 1] : sentence_rows[r, 2]], question.answer) for r in rows],
            dtype=bool,
        )
        if question.answer and not positive.any():
            continue  # the answer straddles sentences: no sentence holds it
        others = [
            r for r in (rng.randrange(total) for _ in range(OTHER_SENTENCES * 2)) if sentence_rows[r, 0] != article_i
        ]
        choices = np.array(rows + others[:OTHER_SENTENCES], dtype=np.int64)
        labels = np.concatenate([positive, np.zeros(len(choices) - len(rows), dtype=bool)])
        for form in (0, 1):
            state = states[2 * n + form]
            examples.append(Example(state, choices, labels, accented=form == 0))
            if labels.any() and rng.random() < REMOVED_SHARE:
                kept = ~labels
                examples.append(Example(state, choices[kept], labels[kept], accented=form == 0))
    return Split(vectors, examples)


def _batch(examples: Sequence[Example], vectors: np.ndarray) -> tuple[torch.Tensor, ...]:
    tokens = max(len(e.states) for e in examples)
    width = vectors.shape[1]
    choices = max(len(e.choices) for e in examples)
    states = np.zeros((len(examples), tokens, width), dtype=np.float32)
    mask = np.zeros((len(examples), tokens), dtype=np.int64)
    candidates = np.zeros((len(examples), choices, width), dtype=np.float32)
    valid = np.zeros((len(examples), choices + 1), dtype=bool)
    target = np.zeros((len(examples), choices + 1), dtype=bool)
    for i, e in enumerate(examples):
        states[i, : len(e.states)] = e.states
        mask[i, : len(e.states)] = 1
        candidates[i, : len(e.choices)] = vectors[e.choices]
        valid[i, : len(e.choices)] = True
        valid[i, -1] = True  # "none of these"
        target[i, : len(e.choices)] = e.positive
        target[i, -1] = not e.positive.any()
    return tuple(torch.from_numpy(a) for a in (states, mask, candidates, valid, target))


class Scorer(torch.nn.Module):
    """The selector with its scale and "none" score as trained parameters."""

    def __init__(self, selector: AnswerSelector) -> None:
        super().__init__()
        self.selector = selector
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(selector.scale)))
        self.null = torch.nn.Parameter(torch.tensor(selector.null))

    @classmethod
    def untrained(cls, embedder: Embedder, split: int) -> Scorer:
        bert = embedder.mean_pooling_model().bert
        if bert is None:
            raise ValueError("the answer selector trains over the default model run as a plain BERT encoder")
        return cls(AnswerSelector.from_base(bert, split))

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, candidates: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        query = self.selector(states, mask)
        scores = torch.einsum("bd,bnd->bn", query, candidates) * self.log_scale.exp()
        logits = torch.cat([scores, self.null.expand(len(scores), 1)], dim=1)
        return logits.masked_fill(~valid, -1e4)


def optimiser_for(scorer: Scorer, plan: TrainingPlan) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        [
            {"params": list(scorer.selector.parameters()), "lr": plan.learning_rate, "weight_decay": 0.01},
            {"params": [scorer.log_scale, scorer.null], "lr": plan.head_learning_rate, "weight_decay": 0.0},
        ]
    )


def training_step(
    scorer: Scorer, optimiser: torch.optim.Optimizer, examples: Sequence[Example], vectors: np.ndarray
) -> float:
    """One optimiser step on ``examples``; their loss before it."""
    states, mask, candidates, valid, target = _batch(examples, vectors)
    loss = loss_of(scorer(states, mask, candidates, valid), target)
    optimiser.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(scorer.parameters(), 1.0)
    optimiser.step()
    return float(loss.detach())


def loss_of(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Listwise cross-entropy: -log of the probability given to the right choices."""
    right = torch.logsumexp(logits.masked_fill(~target, -1e4), dim=1)
    return (torch.logsumexp(logits, dim=1) - right).mean()


def evaluate(scorer: Scorer, split: Split, batch_size: int = 256) -> dict[str, float]:
    """On ``split``: the loss; among the answerable examples (as written / without
    diacritics), the share whose best sentence holds the answer; the share of answerable
    examples scored above "none", and of unanswerable or answer-removed ones."""
    losses: list[float] = []
    right: dict[bool, list[bool]] = {True: [], False: []}
    answered: list[bool] = []
    wrongly: list[bool] = []
    scorer.eval()
    with torch.inference_mode():
        for start in range(0, len(split.examples), batch_size):
            chunk = split.examples[start : start + batch_size]
            states, mask, candidates, valid, target = _batch(chunk, split.vectors)
            logits = scorer(states, mask, candidates, valid)
            losses.append(float(loss_of(logits, target)) * len(chunk))
            best = logits[:, :-1].argmax(dim=1)
            above = logits[:, :-1].max(dim=1).values > logits[:, -1]
            for i, e in enumerate(chunk):
                if e.positive.any():
                    right[e.accented].append(bool(target[i, best[i]]))
                    answered.append(bool(above[i]))
                else:
                    wrongly.append(bool(above[i]))
    scorer.train()
    return {
        "loss": sum(losses) / max(len(split.examples), 1),
        "first_right": float(np.mean(right[True])) if right[True] else 0.0,
        "first_right_unaccented": float(np.mean(right[False])) if right[False] else 0.0,
        "answerable_answered": float(np.mean(answered)) if answered else 0.0,
        "unanswerable_answered": float(np.mean(wrongly)) if wrongly else 0.0,
    }


@dataclass(frozen=True)
class TrainingPlan:
    split: int = 6
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    head_learning_rate: float = 3e-2
    seed: int = 13
    max_minutes: float = 100.0
    eval_every: int = 400


def train(
    embedder: Embedder,
    data: Path,
    out: Path,
    plan: TrainingPlan,
    say: Callable[[str], None],
    limit: int | None = None,
    dev_limit: int | None = None,
) -> dict[str, object]:
    """Train, keep the weights that did best on dev ("first right" + answered-or-not), write
    them with their card to ``out``, and the curves to ``out/curves.jsonl``."""
    random.seed(plan.seed)
    np.random.seed(plan.seed)
    torch.manual_seed(plan.seed)
    started = time.monotonic()
    train_split = prepare(embedder, data, TRAIN_FILES, plan.split, plan.seed, say, limit)
    dev_split = prepare(embedder, data, DEV_FILES, plan.split, plan.seed + 1, say, dev_limit)
    say(f"{len(train_split.examples)} training examples, {len(dev_split.examples)} dev examples")
    scorer = Scorer.untrained(embedder, plan.split)
    optimiser = optimiser_for(scorer, plan)
    steps_per_epoch = math.ceil(len(train_split.examples) / plan.batch_size)
    total_steps = steps_per_epoch * plan.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / 100) * max(0.0, 1 - step / max(total_steps, 1))
    )
    out.mkdir(parents=True, exist_ok=True)
    curves = (out / "curves.jsonl").open("w", encoding="utf-8")

    def record(step: int, train_loss: float | None) -> dict[str, float]:
        figures = evaluate(scorer, dev_split)
        row = {"step": step, "epoch": round(step / steps_per_epoch, 3), "train_loss": train_loss, **figures}
        row["minutes"] = round((time.monotonic() - started) / 60, 1)
        curves.write(json.dumps(row) + "\n")
        curves.flush()
        say(json.dumps(row))
        return figures

    def merit(f: dict[str, float]) -> float:
        return f["first_right"] + f["first_right_unaccented"] + f["answerable_answered"] - f["unanswerable_answered"]

    best = record(0, None)
    best_merit, best_step = merit(best), 0
    best_state = _snapshot(scorer)
    order = list(range(len(train_split.examples)))
    rng = random.Random(plan.seed)
    step, running, stopped = 0, [], False
    for _epoch in range(plan.epochs):
        rng.shuffle(order)
        for start in range(0, len(order), plan.batch_size):
            chunk = [train_split.examples[i] for i in order[start : start + plan.batch_size]]
            running.append(training_step(scorer, optimiser, chunk, train_split.vectors))
            schedule.step()
            step += 1
            if step % plan.eval_every == 0 or step == total_steps:
                figures = record(step, float(np.mean(running)))
                running = []
                if merit(figures) > best_merit:
                    best_merit, best_step, best_state = merit(figures), step, _snapshot(scorer)
            if (time.monotonic() - started) / 60 > plan.max_minutes:
                stopped = True
                break
        if stopped:
            break
    curves.close()
    scorer.load_state_dict(best_state)
    scorer.selector.scale = float(scorer.log_scale.detach().exp())
    scorer.selector.null = float(scorer.null.detach())
    trained = {
        "data": [f"qa-train/{name} {'+'.join(splits)}" for name, splits in TRAIN_FILES],
        "selected_on": [f"qa-train/{name} {'+'.join(splits)}" for name, splits in DEV_FILES],
        "plan": plan.__dict__,
        "best_step": best_step,
        "steps": step,
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    scorer.selector.save(out, embedder.name, trained)
    plot_curves(out / "curves.jsonl", out / "curves.png")
    say(f"best at step {best_step}; written to {out}")
    return trained


def _snapshot(scorer: Scorer) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in scorer.state_dict().items()}


def plot_curves(curves: Path, png: Path) -> None:
    """The training loss and the dev figures against the step, from ``curves.jsonl``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = [json.loads(line) for line in curves.read_text("utf-8").splitlines() if line.strip()]
    steps = [r["step"] for r in rows]
    figure, (losses, shares) = pyplot.subplots(1, 2, figsize=(11, 4))
    trained = [r for r in rows if r["train_loss"] is not None]
    losses.plot([r["step"] for r in trained], [r["train_loss"] for r in trained], label="train (running mean)")
    losses.plot(steps, [r["loss"] for r in rows], label="dev")
    losses.set_xlabel("step")
    losses.set_ylabel("listwise cross-entropy")
    losses.legend()
    for key, label in (
        ("first_right", "dev: best sentence holds the answer"),
        ("first_right_unaccented", "the same, without diacritics"),
        ("answerable_answered", "dev: answerable scored above 'none'"),
        ("unanswerable_answered", "dev: no answer, scored above 'none'"),
    ):
        shares.plot(steps, [r[key] for r in rows], label=label)
    shares.set_xlabel("step")
    shares.set_ylim(0, 1)
    shares.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(png, dpi=90)
    pyplot.close(figure)
