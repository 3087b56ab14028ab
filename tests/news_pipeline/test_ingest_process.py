"""`hoptac ingest` run as a separate process while the bot runs: the group hears of the new
article once, and not again after a restart. The real model, end to end (marked ``model``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from bot.testing.fake_bot_api import FakeBotApi
from retrieval.local.engine import LocalEngine
from tests.bot_harness import GROUP, LAN, make_settings, running_bot
from tests.conftest import CORPUS, REPO
from tests.newsroom import LOGISTICS, LOGISTICS_LEAD, jsonl, sent_to, subscribe

pytestmark = pytest.mark.model

#: Loading the model in the second process is most of the wait.
INGEST_WAIT_S = 180.0


async def hoptac_ingest(corpus: Path, data: Path, path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPTAC_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hoptac.cli",
        "--corpus-dir",
        str(corpus),
        "--data-dir",
        str(data),
        "ingest",
        str(path),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), INGEST_WAIT_S)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_hoptac_ingest_in_another_process_is_announced_once(
    fake_api: FakeBotApi, model_dir: Path, tmp_path: Path
) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    settings = make_settings(fake_api.url, data, corpus_dir=corpus, bot_refresh_seconds=0.2)
    engine = await asyncio.to_thread(LocalEngine.open, settings.engine_config())
    new_article = tmp_path / "tin-moi.jsonl"
    new_article.write_bytes(jsonl(LOGISTICS))

    async with running_bot(fake_api, engine, settings) as bot:
        await subscribe(bot, GROUP, LAN)
        output = await hoptac_ingest(corpus, data, new_article)
        notice = await bot.api.next_message(GROUP.id, 30)

        assert "1 new" in output
        assert f"«{LOGISTICS_LEAD}»" in notice["text"]
        bot.api.send_text(GROUP, LAN, "/ask Trung tâm logistics ở cửa khẩu Hữu Nghị có tổng vốn đầu tư bao nhiêu?")
        answer = await bot.api.next_message(GROUP.id, 30)
        assert "3.000 tỷ đồng" in answer["text"]

    restarted = await asyncio.to_thread(LocalEngine.open, settings.engine_config())
    async with running_bot(fake_api, restarted, settings) as bot:  # a restart
        await bot.deps.notifier.check_index()
        await bot.deps.notifier.deliver(bot.application.bot)
    assert [LOGISTICS["title"] in text for text in sent_to(fake_api, GROUP.id)] == [False, True, True]
