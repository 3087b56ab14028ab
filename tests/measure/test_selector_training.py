"""Training the answer selector: a few steps on a tiny sample lower the loss (the real run is
``hoptac train-selector``, in the background, never in tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from measure.selector_training import Scorer, TrainingPlan, evaluate, optimiser_for, prepare, training_step
from retrieval.config import EngineConfig

PARAGRAPHS = [
    (
        "Cầu Đồng Việt bắc qua sông Thương. Cây cầu nối thành phố Chí Linh với huyện Yên Dũng. "
        "Công trình dài 1,5 km. Tổng vốn đầu tư là 500 tỷ đồng.",
        [
            ("Cầu Đồng Việt bắc qua sông nào?", "sông Thương"),
            ("Công trình dài bao nhiêu?", "1,5 km"),
            ("Tổng vốn đầu tư của cầu là bao nhiêu?", "500 tỷ đồng"),
            ("Ai là kiến trúc sư của cầu?", ""),
        ],
    ),
    (
        "Hội nghị diễn ra tại thành phố Chí Linh vào chiều 5.10. Hai tỉnh ký biên bản ghi nhớ giai đoạn "
        "2020-2025. Lãnh đạo hai tỉnh phát biểu tại hội nghị.",
        [("Hội nghị diễn ra ở đâu?", "thành phố Chí Linh"), ("Biên bản ghi nhớ cho giai đoạn nào?", "2020-2025")],
    ),
]


def _squad(folder: Path) -> None:
    paragraphs = []
    for n, (context, questions) in enumerate(PARAGRAPHS):
        qas = []
        for m, (question, answer) in enumerate(questions):
            answers = [{"text": answer, "answer_start": context.index(answer)}] if answer else []
            qas.append({"id": f"{n}-{m}", "question": question, "answers": answers, "is_impossible": not answer})
        paragraphs.append({"context": context, "qas": qas})
    data = {"version": "tiny", "data": [{"title": "Cầu Đồng Việt", "split": "train", "paragraphs": paragraphs}]}
    (folder / "tiny.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")


@pytest.fixture
def embedder(tmp_path: Path, model_dir: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / model_dir.name).symlink_to(model_dir)
    return EngineConfig(corpus_dir=tmp_path / "corpus", data_dir=tmp_path, answer_selector="off").load_embedder()


def test_a_few_training_steps_on_a_tiny_sample_lower_the_loss(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _squad(tmp_path)
    sample = prepare(embedder, tmp_path, [("tiny.json", ("train",))], split=10, seed=1, say=lambda _m: None)
    # 5 answerable and 1 unanswerable question, each as written and without diacritics, and
    # some answerable ones again with their answer's sentence removed ("none of these")
    answerable = [e for e in sample.examples if e.positive.any()]
    assert len(answerable) == 10
    assert len(sample.examples) - len(answerable) >= 2
    scorer = Scorer.untrained(embedder, split=10)
    optimiser = optimiser_for(scorer, TrainingPlan(learning_rate=1e-4))
    before = evaluate(scorer, sample)["loss"]
    for _ in range(12):
        training_step(scorer, optimiser, sample.examples, sample.vectors)
    after = evaluate(scorer, sample)["loss"]
    assert after < before * 0.9


def test_a_split_without_the_file_says_where_the_data_should_be(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="qa-train"):
        prepare(embedder, tmp_path, [("viquad1.json", ("train",))], split=10, seed=1, say=lambda _m: None)
