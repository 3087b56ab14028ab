"""How sure an answer is, with the real model over the seed article, and in ``hoptac ask``."""

from __future__ import annotations

import json

import pytest

from hoptac.cli import main
from markup.catalogue import LOW_CONFIDENCE
from retrieval.answering.confidence import Evidence, confidence_of, names_share, question_names
from retrieval.local.engine import LocalEngine

CONFIDENT = "Cầu Đồng Việt bắc qua sông nào?"
OFF_TOPIC = "Giá vàng hôm nay bao nhiêu?"
#: Found, but the sentences quoted are only related (an English question shares no words with the article).
RELATED = "Which projects will the two provinces coordinate on?"


def test_the_questions_names_and_numbers() -> None:
    names = question_names("Năm 2019 Hải Dương ký gì với Bắc Giang?")
    assert names == {"2019", "hai", "duong", "bac", "giang"}
    assert names_share(names, "Hải Dương và Bắc Giang ký kết năm 2019.") == 1.0
    assert names_share(frozenset(), "bất kỳ câu nào") == 1.0


def test_more_evidence_never_makes_an_answer_less_sure() -> None:
    weak = Evidence(0.1, 0.05, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0)
    strong = Evidence(3.0, 0.2, 1.0, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert confidence_of(weak) == "low"
    assert confidence_of(strong) == "high"


@pytest.mark.model
def test_a_clear_answer_is_confident(real_engine: LocalEngine) -> None:
    answer = real_engine.ask(CONFIDENT)
    assert answer.found
    assert answer.confidence == "high"
    assert answer.to_json()["confidence"] == "high"


@pytest.mark.model
def test_not_found_has_no_confidence(real_engine: LocalEngine) -> None:
    answer = real_engine.ask(OFF_TOPIC)
    assert not answer.found
    assert answer.confidence is None
    assert answer.to_json()["confidence"] is None


@pytest.mark.model
def test_ask_json_carries_the_confidence_next_to_found(
    real_engine: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    config = real_engine.config
    dirs = ["--corpus-dir", str(config.corpus_dir), "--data-dir", str(config.data_dir)]
    assert main([*dirs, "ask", "--json", CONFIDENT]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["found"], line["confidence"]) == (True, "high")
    keys = list(line)
    assert keys.index("confidence") == keys.index("found") + 1


@pytest.mark.model
def test_ask_says_when_it_is_not_sure(real_engine: LocalEngine, capsys: pytest.CaptureFixture[str]) -> None:
    config = real_engine.config
    dirs = ["--corpus-dir", str(config.corpus_dir), "--data-dir", str(config.data_dir)]
    assert real_engine.ask(RELATED).confidence == "low"
    assert main([*dirs, "ask", RELATED]) == 0
    assert capsys.readouterr().out.startswith(LOW_CONFIDENCE.say() + "\n[1] ")
    assert main([*dirs, "ask", CONFIDENT]) == 0
    assert capsys.readouterr().out.startswith("[1] ")
