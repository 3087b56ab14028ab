"""The bot with the real answer engine, for the new-article and notification tests.

    async with newsroom.running(feeds=[...]) as bot:        # a bot process, started
        await subscribe(bot, GROUP, LAN)                   # LAN is an administrator of GROUP
        newsroom.ingest_elsewhere(jsonl_of(ARTICLE_A))     # `hoptac ingest` in another process
        notice = await bot.api.next_message(GROUP.id)

The engine is :class:`retrieval.local.engine.LocalEngine` with the hashing embedder of
``tests/conftest.py`` (real index, real ingest, no model: a build takes milliseconds) over
a copy of the repository's corpus. Each ``running()`` is a fresh process as far as the bot
can tell: a new engine and a new Application over the same corpus and data folders, so
leaving the block and entering it again is a restart.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.testing.fake_bot_api import FakeBotApi, FakeChat, FakeUser
from hoptac.settings import Settings
from retrieval.engine import IngestReport
from retrieval.local.engine import LocalEngine
from tests.bot_harness import WAIT_S, BotHarness, make_settings, running_bot
from tests.conftest import HashingEmbedder
from tests.fake_site import HOST as FAKE_SITE_HOST

DATA = Path(__file__).parent / "data" / "pages"

# Articles written for these tests (Vietnamese regional-cooperation news).
LOGISTICS = {
    "id": "2024-05-20-bac-ninh-lang-son-logistics",
    "title": "Bắc Ninh và Lạng Sơn hợp tác phát triển logistics",
    "published": "2024-05-20T08:30:00+07:00",
    "source": "Báo Bắc Ninh",
    "url": "https://baobacninh.example/bac-ninh-lang-son-logistics.html",
    "body": (
        "Sáng 20.5, UBND tỉnh Bắc Ninh và UBND tỉnh Lạng Sơn ký kết chương trình hợp tác phát triển "
        "logistics giai đoạn 2024-2030.\n"
        "Hai tỉnh thống nhất xây dựng trung tâm logistics tại khu vực cửa khẩu Hữu Nghị với tổng vốn "
        "đầu tư dự kiến 3.000 tỷ đồng.\n"
        "Lãnh đạo hai tỉnh cũng cam kết phối hợp đào tạo nguồn nhân lực cho ngành logistics."
    ),
}
TOURISM = {
    "id": "2024-06-03-hai-phong-quang-ninh-du-lich",
    "title": "Hải Phòng và Quảng Ninh liên kết phát triển du lịch biển",
    "published": "2024-06-03T15:00:00+07:00",
    "source": "Báo Hải Phòng",
    "body": (
        "Chiều 3.6, Sở Du lịch Hải Phòng và Sở Du lịch Quảng Ninh ký kết chương trình liên kết phát triển "
        "du lịch biển, đảo.\n"
        "Hai địa phương sẽ xây dựng tour du lịch kết nối quần đảo Cát Bà với vịnh Hạ Long."
    ),
}
TEA = {
    "id": "2024-07-11-thai-nguyen-bac-kan-che",
    "title": "Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè",
    "published": "2024-07-11T09:15:00+07:00",
    "source": "Báo Thái Nguyên",
    "body": (
        "Ngày 11.7, UBND tỉnh Thái Nguyên và UBND tỉnh Bắc Kạn ký thỏa thuận hợp tác phát triển vùng "
        "nguyên liệu chè đạt chuẩn VietGAP với diện tích 2.500 ha.\n"
        "Hai tỉnh cũng sẽ cùng xây dựng thương hiệu chè Đông Bắc."
    ),
}
LOGISTICS_LEAD = (
    "Sáng 20.5, UBND tỉnh Bắc Ninh và UBND tỉnh Lạng Sơn ký kết chương trình hợp tác phát triển "
    "logistics giai đoạn 2024-2030."
)

GROUP_2 = FakeChat(-1009876543210, "supergroup", title="Văn phòng UBND tỉnh - thông tin đối ngoại")


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


@dataclass
class Newsroom:
    api: FakeBotApi
    root: Path

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def settings(self, **overrides: Any) -> Settings:
        """The test bot's settings; its pages and feeds are on 127.0.0.1 (tests.fake_site), so that host is allowed."""
        values: dict[str, Any] = {"corpus_dir": self.corpus_dir, "fetch_allowed_hosts": [FAKE_SITE_HOST], **overrides}
        return make_settings(self.api.url, self.data_dir, **values)

    def engine(self, **overrides: Any) -> LocalEngine:
        """A new engine instance: what another process (or a restarted bot) opens."""
        engine = LocalEngine(self.settings(**overrides).engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
        if engine.store.current_version() is None:
            engine.reindex()
        return engine

    def ingest_elsewhere(self, *records: dict[str, Any]) -> IngestReport:
        """``hoptac ingest file.jsonl`` run by another process, while the bot runs (or not)."""
        folder = self.root / "elsewhere"
        folder.mkdir(exist_ok=True)
        path = Path(tempfile.mkstemp(dir=folder, suffix=".jsonl")[1])
        path.write_bytes(jsonl(*records))
        return self.engine().ingest([path])

    @asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[BotHarness]:
        settings = self.settings(**overrides)
        async with running_bot(self.api, self.engine(**overrides), settings) as bot:
            yield bot


async def subscribe(bot: BotHarness, chat: FakeChat, admin: FakeUser) -> None:
    """``admin`` (made an administrator of a group ``chat``) sends /subscribe there."""
    if chat.type != "private":
        bot.api.chat_admins.add((chat.id, admin.id))
    bot.api.send_text(chat, admin, "/subscribe")
    reply = await bot.api.next_message(chat.id, WAIT_S)
    assert "Đã bật thông báo" in reply["text"], reply["text"]


def sent_to(api: FakeBotApi, chat_id: int) -> list[str]:
    """Texts of every message the bot sent to ``chat_id`` (in order)."""
    return [call.result["text"] for call in api.calls_to("sendMessage", chat_id)]


def presubscribe(newsroom: Newsroom, chat: FakeChat, user: FakeUser) -> None:
    """``chat`` subscribed before the bot starts (as after an earlier run); the fake server
    learns of the chat from a message posted there."""
    from storage.sqlite.database import Database
    from storage.sqlite.subscriptions import SQLiteSubscriptions as Subscriptions

    newsroom.api.send_text(chat, user, "Chào mọi người")
    database = Database(newsroom.data_dir / "hoptac.sqlite3")
    Subscriptions(database).add(chat.id, chat.type, chat.title or "", user.id)
    database.close()


async def run_job(bot: BotHarness, name: str) -> None:
    """Run the bot's job ``name`` now, and wait for it to finish."""
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(name)
    await job.run(bot.application)


def page(name: str) -> bytes:
    """One of the article pages written for these tests (tests/bot/data/*.html)."""
    return (DATA / name).read_bytes()
