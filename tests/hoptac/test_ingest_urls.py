"""``hoptac ingest URL…``: pages fetched and extracted as the bot's ``/add`` does them, the
files beside them; a page that cannot be had is one line and the others still go in."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import hoptac.wiring
from hoptac.cli import main
from retrieval.articles.corpus import article_from_markdown
from retrieval.engine import IngestReport, Progress
from tests.fake_site import FakeSite
from tests.newsroom import page

TEA_ID = "2024-07-11-thai-nguyen-va-bac-kan-hop-tac-phat-trien-vung-che"
TEA_TITLE = "Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè"


class ReadingEngine:
    """Reads each article file it is given, as the engine's ingest would; keeps the articles."""

    def __init__(self) -> None:
        self.articles: dict[str, Any] = {}

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        report = IngestReport()
        for path in paths:
            article = article_from_markdown(path.read_text("utf-8"), str(path))
            self.articles[article.id] = article
            report.changes[article.id] = "new"
        return report


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    monkeypatch.setenv("HOPTAC_FETCH_ALLOWED_HOSTS", "127.0.0.1")  # the fake site is on loopback
    with FakeSite() as running:
        running.put("/bai/che.html", page("thai-nguyen-bac-kan-che.html"))
        yield running


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ReadingEngine:
    engine = ReadingEngine()
    monkeypatch.setattr(hoptac.wiring, "engine_for_changes", lambda settings: engine)
    return engine


def test_a_page_url_is_ingested_like_an_add(
    site: FakeSite, engine: ReadingEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "ingest", site.url("/bai/che.html")]) == 0

    assert capsys.readouterr().out.strip() == "1 new, 0 updated, 0 unchanged, 0 failed"
    article = engine.articles[TEA_ID]
    assert article.title == TEA_TITLE and article.url == site.url("/bai/che.html")
    assert "chế biến chè đặc sản" in article.text
    assert not any((tmp_path / "incoming").iterdir())  # the fetched article's file is gone


def test_each_page_that_cannot_be_had_is_one_line_and_the_rest_go_in(
    site: FakeSite, engine: ReadingEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "bai.md"
    other.write_text(
        "---\nid: 2024-05-20-bac-ninh-lang-son\ntitle: Bắc Ninh và Lạng Sơn hợp tác\n---\n\nHai tỉnh ký kết.\n", "utf-8"
    )
    missing = site.url("/bai/khong-co.html")
    arguments = [missing, site.url("/bai/che.html"), str(other), "http://127.0.0.1:9/bai.html"]

    assert main(["--data-dir", str(tmp_path), "ingest", "--json", *arguments]) == 1

    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["new"] == 2 and set(engine.articles) == {TEA_ID, "2024-05-20-bac-ninh-lang-son"}
    failures = {f["path"]: f["reason"] for f in report["failures"]}
    assert set(failures) == {missing, "http://127.0.0.1:9/bai.html"}
    assert "HTTP 404" in failures[missing] and "không kết nối được" in failures["http://127.0.0.1:9/bai.html"]
    assert "no such file" not in captured.err


def test_a_page_at_a_private_address_is_refused_unless_allowed(
    site: FakeSite, engine: ReadingEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv("HOPTAC_FETCH_ALLOWED_HOSTS")
    assert main(["--data-dir", str(tmp_path), "ingest", site.url("/bai/che.html")]) == 1
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "HOPTAC_FETCH_ALLOWED_HOSTS" in printed and "127.0.0.1" in printed
    assert engine.articles == {}
