"""The command line as a user meets it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from hoptac.cli import main
from hoptac.cli.console import Progress
from hoptac.settings import Settings
from retrieval.local.engine import LocalEngine
from tests.conftest import CORPUS, HashingEmbedder

BRIDGE = {"id": "bg-1", "title": "Bắc Giang mở rộng hợp tác", "body": "Bắc Giang và Hải Dương ký kết hợp tác."}


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


@pytest.fixture
def hashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Folder options of a copy of the corpus, whose engine embeds with the HashingEmbedder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)

    def engine(settings: Settings) -> LocalEngine:
        return LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]

    monkeypatch.setattr("hoptac.wiring.engine_for_changes", engine)
    monkeypatch.delenv("HOPTAC_INGEST_MAX_BYTES", raising=False)
    return ["--corpus-dir", str(corpus), "--data-dir", str(tmp_path / "data")]


def _jsonl(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_each_missing_argument_is_a_failure_and_the_others_go_in(
    hashing: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One missing path among several aborted the whole ingest (issue 23)."""
    good = _jsonl(tmp_path / "good.jsonl", BRIDGE)
    missing = [str(tmp_path / "nope.md"), str(tmp_path / "gone")]
    assert main([*hashing, "ingest", missing[0], str(good), missing[1]]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "1 new, 0 updated, 0 unchanged, 2 failed"
    assert [line for line in captured.err.splitlines() if "error" in line] == [
        f"hoptac: error: {path}: no such file or folder" for path in missing
    ]


def test_a_file_over_the_ingest_limit_is_refused_and_the_others_go_in(
    hashing: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOPTAC_INGEST_MAX_BYTES", "2000")
    huge = tmp_path / "huge.txt"
    huge.write_text("Bắc Giang và Hải Dương ký kết hợp tác.\n" * 100, "utf-8")
    good = _jsonl(tmp_path / "good.jsonl", BRIDGE)
    assert main([*hashing, "ingest", "--json", str(huge), str(good)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["new"], report["articles"]) == (1, {"bg-1": "new"})
    [failure] = report["failures"]
    assert failure["path"] == str(huge) and failure["reason"].startswith("too large")


def test_without_a_terminal_ingest_says_one_quiet_line_a_file(
    hashing: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _jsonl(tmp_path / "a.jsonl", BRIDGE)
    second = _jsonl(tmp_path / "b.jsonl", {**BRIDGE, "id": "bg-2"})
    assert main([*hashing, "ingest", str(first), str(second)]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("hoptac: created the data folder")]
    assert lines == [f"[1/2] {first}", f"[2/2] {second}"]
    assert captured.out.splitlines() == ["2 new, 0 updated, 0 unchanged, 0 failed"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_ingest_shows_a_tqdm_bar_of_the_files() -> None:
    stream = _Terminal()
    bars = Progress(stream)
    bars("import: new/a.jsonl", 1, 4)
    bars("import: new/b.jsonl", 2, 4)
    bars.close()
    shown = stream.getvalue()
    assert "reading:  50%" in shown and "2/4" in shown and "new/b.jsonl" in shown
    assert "[1/4]" not in shown  # the quiet lines are for logs and pipes
