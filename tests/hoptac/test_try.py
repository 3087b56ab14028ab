"""``hoptac try``: the real bot against the fake Bot API, driven line by line as a script
would, over a scratch copy of the repository's corpus and index (the hashing embedder: no
model, except for the one test of the command itself)."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from hoptac.cli import main
from hoptac.sandbox import Sandbox
from hoptac.settings import Settings
from hoptac.try_session import try_session
from retrieval.local.engine import LocalEngine
from tests.conftest import CORPUS, HashingEmbedder

STEP_S = 30.0  # every step of these tests ends within this, or fails
QUESTION = "ký kết biên bản ghi nhớ hợp tác"  # found with the hashing embedder
TITLE = "Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang"
TOURISM = {
    "id": "2024-06-03-hai-phong-quang-ninh-du-lich",
    "title": "Hải Phòng và Quảng Ninh liên kết phát triển du lịch biển",
    "published": "2024-06-03T15:00:00+07:00",
    "source": "Báo Hải Phòng",
    "body": "Chiều 3.6, Sở Du lịch Hải Phòng và Sở Du lịch Quảng Ninh ký kết chương trình liên kết phát triển du lịch.",
}


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """A sandbox of settings whose index (built with the hashing embedder) is already there."""
    corpus = tmp_path / "real" / "corpus"
    shutil.copytree(CORPUS, corpus)
    real = Settings(corpus_dir=corpus, data_dir=tmp_path / "real" / "data", _env_file=None)  # type: ignore[call-arg]
    LocalEngine(real.engine_config(), embedder=HashingEmbedder()).reindex()  # type: ignore[arg-type]
    return Sandbox.create(real, tmp_path / "try")


async def chat(sandbox: Sandbox, *lines: str) -> list[str]:
    """What a non-interactive ``hoptac try`` prints for ``lines``."""
    engine = LocalEngine(sandbox.settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    shown: list[str] = []
    async with try_session(sandbox.settings, engine, shown.append, step_s=STEP_S) as session:
        session.echo = True
        for line in lines:
            assert await session.handle(line)
        assert session.failures == 0, "\n".join(shown)
        assert not session.refused, "\n".join(shown)  # every message passed Telegram's checks
    return shown


async def test_a_question_gets_a_quote_and_its_buttons_are_numbered_choices(sandbox: Sandbox) -> None:
    shown = await chat(sandbox, QUESTION, "/1")
    text = "\n".join(shown)
    assert shown[0] == f"Bạn:  {QUESTION}"
    assert shown[1].startswith(f"Bot:  🔎 {QUESTION}")
    assert "«" in text and TITLE in text
    buttons = next(line for line in shown if "[1] 📄 Nguồn đầy đủ" in line)
    assert "👍" in buttons and "👎" in buttons
    pressed = shown.index("Bạn:  [1] 📄 Nguồn đầy đủ")
    assert any(line.startswith("Bot") for line in shown[pressed + 1 :])  # the paragraph came


async def test_a_choice_by_label_and_latest(sandbox: Sandbox) -> None:
    shown = await chat(sandbox, "Hai tinh hop tac gi", "#👎", "#sai trích dẫn", "/latest")
    disliked = next(i for i, line in enumerate(shown) if line.startswith("Bạn:  [") and line.endswith("] 👎"))
    assert any("Sai trích dẫn" in line for line in shown[disliked + 1 :])
    latest = shown[shown.index("Bạn:  /latest") + 1 :]
    assert latest[0].startswith("Bot:  ") and any(TITLE in line for line in latest)


async def test_an_upload_is_announced_once_to_the_subscribed_group(sandbox: Sandbox, tmp_path: Path) -> None:
    article = tmp_path / "du-lich.jsonl"
    article.write_text(json.dumps(TOURISM, ensure_ascii=False) + "\n", "utf-8")
    shown = await chat(sandbox, "/group", "/private", f"/upload {article}", "/reindex", "/status")
    assert "Bạn:  /subscribe" in shown
    notices = [line for line in shown if line.startswith("Bot → Nhóm thử:")]
    assert len(notices) == 1, shown
    after_upload = "\n".join(shown[shown.index("Bạn:  📎 du-lich.jsonl") :])
    assert TOURISM["title"] in after_upload
    reindexed = shown[shown.index("Bạn:  /reindex") + 1 : shown.index("Bạn:  /status")]
    # the step waited for the rebuild; the progress message is edited into the result (one message)
    assert [line for line in reindexed if line.startswith("Bot:")] == [reindexed[0]], reindexed  # one message sent
    assert reindexed[-1].startswith("Bot ✏️: ✅") and "2 bài" in reindexed[-1]  # then edited into the result
    assert len(list(sandbox.corpus_dir.glob("*.md"))) == 2
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(
        p.name for p in (sandbox.root.parent / "real" / "corpus").iterdir()
    )  # the real corpus folder is as it was


async def test_an_inline_query_lists_results_and_the_chosen_one_is_posted(sandbox: Sandbox) -> None:
    shown = await chat(sandbox, f"@hoptac_bot {QUESTION}", "/1")
    assert "Bot (inline results):" in shown
    posted = next(i for i, line in enumerate(shown) if line.startswith("Bạn (via @hoptac_bot):"))
    assert "🔎" in shown[posted]
    assert any("Xem thêm trong bot" in line for line in shown[posted:])


async def test_a_missing_file_or_choice_is_one_line_and_counted(sandbox: Sandbox, tmp_path: Path) -> None:
    engine = LocalEngine(sandbox.settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    shown: list[str] = []
    async with try_session(sandbox.settings, engine, shown.append, step_s=STEP_S) as session:
        assert await session.handle(f"/upload {tmp_path / 'nope.md'}")
        assert await session.handle("/7")
        assert not await session.handle("/quit")
    assert shown == [
        f"hoptac try: cannot read {tmp_path / 'nope.md'}: No such file or directory",
        "hoptac try: no choice 7: none shown",
    ]
    assert session.failures == 2


def test_scratch_must_be_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["--data-dir", str(tmp_path / "data"), "try", "--scratch", str(tmp_path / "full")]) == 1
    assert capsys.readouterr().err.strip() == f"hoptac: error: --scratch {tmp_path / 'full'} is not an empty folder"


@pytest.mark.model
def test_the_command_reads_standard_input_builds_a_missing_index_and_fails_on_a_missing_file(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    missing = tmp_path / "nope.md"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"cau Dong Viet o dau\n/latest\n/reindex\n/upload {missing}\n"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the scratch copy goes
    assert main(["--corpus-dir", str(corpus), "--data-dir", str(data), "try"]) == 1  # the missing file
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == f"hoptac try: cannot read {missing}: No such file or directory"
    out = captured.out.splitlines()
    assert out[0] == "Bạn:  cau Dong Viet o dau"
    assert any("cầu Đồng Việt" in line for line in out)
    assert any(TITLE in line for line in out[out.index("Bạn:  /latest") :])
    assert (data / "index" / "CURRENT").exists()  # built as `hoptac ask` would
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in CORPUS.iterdir())
    assert not list((tmp_path / "tmp").iterdir())  # the scratch copy is removed
