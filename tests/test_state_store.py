"""The SQLite state store: what the bot keeps between restarts, read back exactly."""

from __future__ import annotations

from pathlib import Path

from retrieval.models import Citation
from storage.interfaces import StateStore
from storage.records import AnswerPage, Vote
from storage.sqlite import SQLiteStateStore

CITATION = Citation(
    article_id="2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang",
    title="Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang",
    published="2019-10-05",
    source="Báo Hải Dương",
    url=None,
    sentence="Cầu Đồng Việt bắc qua sông Thái Bình.",
    start=120,
    end=157,
    score=0.81,
)


def _store(path: Path) -> StateStore:
    return SQLiteStateStore(path)


def test_an_answer_page_survives_a_restart_with_its_citations_intact(tmp_path: Path) -> None:
    page = AnswerPage("cầu Đồng Việt ở đâu?", chat_id=-100, user_id=7, offset=3, citations=(CITATION,))
    first = _store(tmp_path / "hoptac.sqlite3")
    page_id = first.answer_pages.add(page)
    first.close()

    again = _store(tmp_path / "hoptac.sqlite3")
    assert again.answer_pages.get(page_id) == page
    assert again.answer_pages.get("unknown") is None


def test_only_the_newest_answer_pages_are_kept(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "hoptac.sqlite3")
    store.answer_pages.capacity = 3
    ids = [store.answer_pages.add(AnswerPage(f"câu {i}", 1, 2, 0, ())) for i in range(5)]
    assert len(store.answer_pages) == 3
    assert store.answer_pages.get(ids[0]) is None
    assert store.answer_pages.get(ids[-1]) == AnswerPage("câu 4", 1, 2, 0, ())


def test_feedback_shares_the_one_database_file(tmp_path: Path) -> None:
    store = _store(tmp_path / "hoptac.sqlite3")
    store.feedback.record(Vote("abc", "Hai tỉnh ký gì?", 1, chat_id=1, user_id=2, citations=(("a", 0, 5),)))
    store.feedback.record(Vote("abc", "Hai tỉnh ký gì?", -1, chat_id=1, user_id=2))  # a second vote replaces the first
    store.subscriptions.add(1, "private", "", 2)
    votes = store.feedback.votes()
    assert [v["vote"] for v in votes] == [-1]
    assert store.subscriptions.is_subscribed(1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite3") == ["hoptac.sqlite3"]
