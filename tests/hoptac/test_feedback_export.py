"""``hoptac feedback export FILE``: the stored votes as CSV, oldest first, each 👎 with its reason."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hoptac.cli import main
from storage.records import FeedbackReason, Vote
from storage.sqlite import SQLiteStateStore

DISLIKED = Vote(
    "k3J9xQaa", "Cầu Đồng Việt ở đâu?", -1, chat_id=-100123, user_id=1001, citations=(("bai-1", 120, 157),),
    first_quote="Cầu Đồng Việt bắc qua sông Thái Bình, nối huyện Yên Dũng với TP Chí Linh.",
    reason=FeedbackReason.WRONG_QUOTE,
)  # fmt: skip
LIKED = Vote("p8Zq1Lmn", "Hai tỉnh ký kết gì?", 1, chat_id=1002, user_id=1002, first_quote="Hai tỉnh ký biên bản.")
NO_REASON = Vote("r2Wx5Yzz", 'Du lịch "xanh", năm 2024?', -1, chat_id=1001, user_id=1001, result_offset=3)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The measuring tools' commands are not the subject here (and need not be installed).
    monkeypatch.setattr("hoptac.cli.installed_commands", lambda: [])
    monkeypatch.delenv("HOPTAC_DATABASE_URL", raising=False)
    store = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    for vote in (DISLIKED, LIKED, NO_REASON):
        store.feedback.record(vote)
    store.close()
    return tmp_path


def test_export_writes_every_vote_oldest_first_with_reasons(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "gop-y.csv"

    assert main(["feedback", "export", str(target), "--data-dir", str(data_dir)]) == 0

    assert capsys.readouterr().err.strip() == f"hoptac: wrote 3 votes (2 👎) to {target}"
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets need for Vietnamese
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))
    assert [(r["answer_id"], r["vote"], r["reason"]) for r in rows] == [
        ("k3J9xQaa", "-1", "wrong_quote"),
        ("p8Zq1Lmn", "1", ""),
        ("r2Wx5Yzz", "-1", ""),
    ]
    first = rows[0]
    assert (first["question"], first["first_quote"]) == (DISLIKED.question, DISLIKED.first_quote)
    assert (first["chat_id"], first["user_id"], first["result_offset"]) == ("-100123", "1001", "0")
    assert json.loads(first["citations"]) == [{"article_id": "bai-1", "start": 120, "end": 157}]
    assert first["voted_at"].endswith("+00:00")
    assert rows[2]["question"] == 'Du lịch "xanh", năm 2024?' and rows[2]["result_offset"] == "3"


def test_export_to_standard_output_only_the_dislikes(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "export", "-", "--dislikes", "--data-dir", str(data_dir)]) == 0

    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["answer_id"] for r in rows] == ["k3J9xQaa", "r2Wx5Yzz"]


def test_export_without_bot_state_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("hoptac.cli.installed_commands", lambda: [])
    monkeypatch.delenv("HOPTAC_DATABASE_URL", raising=False)

    assert main(["feedback", "export", str(tmp_path / "x.csv"), "--data-dir", str(tmp_path / "empty")]) == 1

    err = capsys.readouterr().err
    assert err.startswith("hoptac: error: no bot state in") and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "empty").exists()
