"""`hoptac eval` on a small SQuAD-format file written for the test."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from hoptac.cli import main
from hoptac.settings import Settings
from measure.evaluation import evaluate, load_distractors, load_squad

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Cầu_Đồng_Việt",
            "paragraphs": [
                {
                    "context": "Cầu Đồng Việt bắc qua sông Thái Bình. Cầu nối huyện Yên Dũng với TP Chí Linh.",
                    "qas": [
                        {"id": "q1", "question": "Cầu Đồng Việt bắc qua sông nào?",
                         "answers": [{"text": "sông Thái Bình", "answer_start": 22}]},
                    ],
                }
            ],
        },
        {
            "title": "Di_sản",
            "paragraphs": [
                {
                    "context": "Hai tỉnh đề nghị UNESCO công nhận quần thể di tích Yên Tử là di sản thế giới.",
                    "qas": [
                        {"id": "q2", "question": "Hai tỉnh đề nghị UNESCO công nhận di tích nào?",
                         "answers": [{"text": "Yên Tử", "answer_start": 51}]},
                    ],
                }
            ],
        },
    ],
}  # fmt: skip


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), "utf-8")
    return path


def test_every_paragraph_becomes_an_article_and_every_question_keeps_its_gold(squad_file: Path) -> None:
    articles, questions = load_squad(squad_file)
    assert [a.title for a in articles] == ["Cầu Đồng Việt", "Di sản"]
    assert [(q.article_id, q.answer) for q in questions] == [
        (articles[0].id, "sông Thái Bình"),
        (articles[1].id, "Yên Tử"),
    ]


@pytest.mark.model
def test_report_has_hybrid_and_both_baselines_side_by_side(squad_file: Path, model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    report = evaluate(squad_file, Settings(data_dir=data, _env_file=None).engine_config())  # type: ignore[call-arg]
    assert set(report["methods"]) >= {"hybrid", "bm25", "dense"}
    assert report["methods"]["hybrid"]["recall@1"] == 1.0
    assert report["answers"]["first_sentence_contains_answer"] == 1.0
    assert report["questions"] == 2
    assert report["answer_removed"]["questions"] == 1  # the other paragraph is one sentence


@pytest.mark.model
def test_eval_runs_the_sentence_vectors_the_settings_ask_for(squad_file: Path, model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(data_dir=data, sentence_vectors="span", _env_file=None)  # type: ignore[call-arg]
    report = evaluate(squad_file, settings.engine_config())
    assert report["model"].endswith("+span-sentences")
    assert report["answers"]["first_sentence_contains_answer"] == 1.0


def test_a_file_that_is_not_squad_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"no_paragraphs": 1}]}', "utf-8")
    assert main(["--data-dir", str(tmp_path / "d"), "eval", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hoptac: error:") and "SQuAD" in err
    assert len(err.strip().splitlines()) == 1


def test_answer_removed_paragraphs_keep_their_topic_but_not_the_answer() -> None:
    from measure.evaluation import Question, answer_removed
    from retrieval.models import Article

    article = Article(
        id="p1",
        title="Cầu Đồng Việt",
        published=None,
        source="XQuAD",
        text="Cầu Đồng Việt bắc qua sông Thái Bình. Cầu nối huyện Yên Dũng với TP Chí Linh.",
    )
    lonely = Article(id="p2", title="Di sản", published=None, source="XQuAD", text="Yên Tử là di sản.")
    questions = [
        Question("q1", "Cầu Đồng Việt bắc qua sông nào?", "p1", 0, "sông Thái Bình"),
        Question("q2", "Cầu nối những đâu?", "p1", 0, "Yên Dũng"),  # only the first question of a paragraph
        Question("q3", "Di sản nào?", "p2", 1, "Yên Tử"),  # nothing would be left
    ]
    holed, asked = answer_removed([article, lonely], questions)
    assert [a.text for a in holed] == ["Cầu nối huyện Yên Dũng với TP Chí Linh."]
    assert [q.id for q in asked] == ["q1"]
    assert holed[0].id != article.id


def test_distractors_come_from_the_file_given(tmp_path: Path) -> None:
    news = tmp_path / "news.jsonl.gz"
    records = [
        {"id": f"n{i}", "title": f"Tin số {i}", "body": f"Hai tỉnh ký kết hợp tác lần thứ {i}."} for i in range(5)
    ]
    with gzip.open(news, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    chosen = load_distractors(2, news)
    assert len(chosen) == 2 and all(a.id.startswith("news-n") for a in chosen)


def test_distractors_default_to_the_shared_data_folder(
    squad_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_SHARED_DATA_DIR", str(tmp_path / "shared"))
    assert main(["--data-dir", str(tmp_path / "d"), "eval", str(squad_file), "--distractors", "3"]) == 1
    expected = tmp_path / "shared" / "news-vi" / "baomoi-2017.jsonl.gz"
    assert capsys.readouterr().err.strip() == f"hoptac: error: distractors need {expected}, which is absent"
