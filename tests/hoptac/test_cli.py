"""The command line as a user meets it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hoptac.cli import main
from tests.conftest import CORPUS


@pytest.fixture
def dirs(tmp_path: Path, model_dir: Path) -> list[str]:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    return ["--corpus-dir", str(corpus), "--data-dir", str(data)]


def test_status_without_an_index_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "status"]) == 1
    assert capsys.readouterr().err.strip() == f"hoptac: error: no index in {tmp_path / 'index'}: run `hoptac reindex`"


@pytest.mark.parametrize(
    ("question", "reason"), [("   ", "the question is empty"), ("???", "the question has no words to search for")]
)
def test_a_question_without_words_fails_before_anything_loads(
    question: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "ask", question]) == 1
    assert capsys.readouterr().err.strip() == f"hoptac: error: {reason}"
    assert not (tmp_path / "index").exists()


def test_a_missing_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "ingest", str(tmp_path / "nope.jsonl")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.model
def test_ingest_reports_bad_files_and_takes_the_good_ones(
    dirs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x\n", "utf-8")
    good = tmp_path / "good.jsonl"
    record = {"id": "bg-1", "title": "Bắc Giang mở rộng hợp tác", "body": "Bắc Giang và Hải Dương ký kết hợp tác."}
    good.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    seed_md = next(CORPUS.glob("*.md"))  # already in the corpus: unchanged
    assert main([*dirs, "ingest", "--json", str(bad), str(good), str(seed_md)]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (report["new"], report["unchanged"]) == (1, 1)
    assert [f["path"] for f in report["failures"]] == [str(bad)]
    assert main([*dirs, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["articles"], status["sentences"]) == (2, 25)
    assert {"articles", "passages", "sentences", "model", "age_seconds", "index_bytes"} <= set(status)


def test_folder_options_work_after_the_command_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--data-dir", str(tmp_path / "after")]) == 1
    assert str(tmp_path / "after" / "index") in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "before"), "status", "--data-dir", str(tmp_path / "after")]) == 1
    assert str(tmp_path / "after" / "index") in capsys.readouterr().err
