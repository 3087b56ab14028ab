"""Load test: many simulated users asking the real bot at once, offline.

The real bot (:func:`hoptac.wiring.build_bot`, every handler, job and limiter) long-polls
the fake Bot API server (:mod:`bot.testing.fake_bot_api`) on 127.0.0.1 and answers with
the engine it is given. For each asker count K, K users, each in a private chat of their
own, ask their questions one after another (the next one only once the reply to the
previous one has arrived), all K users at the same time.

    results = run_asker_benchmark(engine, questions, askers=(1, 4, 16), per_asker=20)
    print(format_results(results))
    problems = goal_problems(results)      # [] when all were answered and p95 held up

What is measured, per question: from the moment the update is queued at the fake server
(a waiting ``getUpdates`` long poll returns it at once) until the bot's reply
(``sendMessage``) to that chat arrives at the fake server. A reply split over several
messages counts at its first one (the others show up as ``extra_messages``).

Where things run: the fake server, the simulated users and the bot share one event loop
in this process; the engine works in the bot's worker threads. So anything that blocks
the loop delays every chat and shows up in the latencies, and in ``loop_lag_max_ms`` (how
late a 5 ms timer on the loop fired, at worst). The fake server's own work per call is
small (parse the request, check the HTML as Telegram would, record the call): a few per
cent of the loop's busy time when profiled with an instant engine.

Settings for the run: the given :class:`~hoptac.settings.Settings` (answer length, worker
threads, refresh interval...) with the per-user question limit switched off
(``bot_rate_limit_questions=0``), so the simulated users are never throttled by it; no
webhook, feeds or folder watching; the bot's database in a temporary folder. PTB's flood
limiter (Telegram's ~30 requests/s for the whole bot, which every reply and every
"typing…" goes through) stays on, as in production. "typing…" is sent only once an answer
has taken half a second (``bot.sending.TYPING_DELAY_S``), so a quick answer costs one
request and a slow one two or more.

Questions: repeating a question makes it cheaper (the engine caches query embeddings), so
give at least ``warmup + per_asker * sum(askers)`` distinct ones;
:func:`questions_from_articles` makes them from the corpus. Repeats are counted in
``repeated_questions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.addressing import clean_question
from bot.app import ALLOWED_UPDATES
from bot.config import BotConfig
from bot.deps import DEPS_KEY, BotDeps
from bot.format import question_header
from bot.testing.fake_bot_api import ApiCall, FakeBotApi, FakeChat, FakeUser
from bot.testing.telegram_html import parse_html
from hoptac.settings import Settings
from hoptac.wiring import build_bot
from retrieval.engine import Engine
from retrieval.models import Article

__all__ = [
    "AskerResult",
    "benchmark_settings",
    "format_results",
    "goal_problems",
    "measure_askers",
    "questions_from_articles",
    "run_asker_benchmark",
]

#: The fake bot's token (well-formed, never valid at Telegram).
BENCHMARK_TOKEN = "123456789:LoadTestLoadTestLoadTestLoadTest01"
#: The simulated users' ids: run ``r`` (0-based), asker ``a`` -> USER_ID_BASE + 100_000 * (r + 1) + a.
USER_ID_BASE = 900_000_000
#: How often the loop-lag probe's timer is set.
LAG_PROBE_S = 0.005
#: How long the bot's ``getUpdates`` long polls last.
POLL_TIMEOUT_S = 10
#: Starting and stopping the bot (and each warm-up question) must take less than this.
SETUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class AskerResult:
    """One run with ``askers`` simultaneous users. Latencies are over answered questions,
    in milliseconds (nearest-rank percentiles); 0.0 when none was answered."""

    askers: int
    questions: int  # asked: askers * per_asker
    answered: int  # replies that answer the question (quotes found, or "not found")
    found: int  # of those, answers with quoted sentences (they come with the answer's buttons)
    failed: int  # replies that were not an answer (an error message, a refusal, ...)
    lost: int  # no reply within the time limit (the rest of that user's questions count too)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    throughput_qps: float  # answered / wall_s
    wall_s: float  # from the first question to the last reply
    loop_lag_max_ms: float  # worst lateness of a 5 ms timer on the bot's event loop
    repeated_questions: int  # asked earlier in the same benchmark (the engine's cache may help)
    extra_messages: int  # messages to the users' chats that no question was waiting for
    per_asker: int
    workers: int  # the bot's question threads (bot_workers)
    per_user_rate_limit: int = 0  # the bot's per-user question limit in this run: 0 = off
    failures: tuple[str, ...] = field(default=(), repr=False)  # the first few wrong replies

    @property
    def ok(self) -> bool:
        """Every question answered: none failed, none lost."""
        return self.answered == self.questions

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = list(self.failures)
        return data


def benchmark_settings(base: Settings, api_url: str, data_dir: Path) -> Settings:
    """``base`` for a bot that talks to the fake server at ``api_url``: the per-user question
    limit off, no webhook, feeds or folder watching, its database under ``data_dir``."""
    return base.model_copy(
        update={
            "telegram_token": SecretStr(BENCHMARK_TOKEN),
            "telegram_api_url": api_url,
            "telegram_webhook_url": None,
            "admin_ids": [],
            "data_dir": data_dir,
            "bot_rate_limit_questions": 0,
            "corpus_watch_seconds": 0,
            "feeds": [],
        }
    )


def questions_from_articles(articles: Iterable[Article], count: int, words: int = 7) -> list[str]:
    """Up to ``count`` distinct questions made of the articles' own words: runs of ``words``
    consecutive words of a sentence (one starting at each word), sentences taken in turn
    (so the first questions cover many sentences), each ending in "?"."""
    from retrieval.articles.sentences import split_sentences

    runs: list[list[str]] = []
    for article in articles:
        for sentence in split_sentences(article):
            tokens = [t.strip(".,;:!?…\"'“”()[]«»") for t in sentence.text.split()]
            tokens = [t for t in tokens if t]
            if len(tokens) < 3:
                continue
            starts = range(max(len(tokens) - words, 0) + 1)
            runs.append([" ".join(tokens[s : s + words]) + "?" for s in starts])
    questions: dict[str, None] = {}
    for batch in itertools.zip_longest(*runs):
        for question in batch:
            if question is not None and len(questions) < count:
                questions.setdefault(question)
    return list(questions)


def _percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest value with at least ``percent`` % of the values at or below it."""
    if not sorted_values:
        return 0.0
    rank = max(math.ceil(percent / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


class _Replies:
    """Futures for the replies the simulated users wait for, resolved by the fake server
    as each ``sendMessage`` arrives (a listener: no polling, no sleeps)."""

    def __init__(self, api: FakeBotApi) -> None:
        self._waiting: dict[int, asyncio.Future[tuple[float, ApiCall]]] = {}
        self.extra_messages = 0
        self._remove = api.add_listener(self._on_call)

    def _on_call(self, call: ApiCall) -> None:
        if call.method != "sendMessage" or not call.ok or not isinstance(call.chat_id, int):
            return
        arrived = time.perf_counter()
        future = self._waiting.pop(call.chat_id, None)
        if future is None or future.done():
            self.extra_messages += 1
        else:
            future.set_result((arrived, call))

    def expect(self, chat_id: int) -> asyncio.Future[tuple[float, ApiCall]]:
        future: asyncio.Future[tuple[float, ApiCall]] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = future
        return future

    def forget(self, chat_id: int) -> None:
        self._waiting.pop(chat_id, None)

    def close(self) -> None:
        self._remove()


class _LoopLag:
    """How late a short timer fires on the running loop, at worst: a loop blocked for
    100 ms shows up as ~100 ms."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            self.worst_s = max(self.worst_s, loop.time() - started - LAG_PROBE_S)

    def __enter__(self) -> _LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, answered questions only
    found: int = 0
    failed: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)
    last_reply: float = 0.0


def _expected_start(question: str) -> str:
    """How every reply to ``question`` (answer or "not found") begins, as Telegram shows it:
    the question as the bot reads it (whitespace collapsed, stray end punctuation dropped)."""
    return parse_html(question_header(clean_question(question)))[0]


async def _ask_in_turn(
    api: FakeBotApi, replies: _Replies, user: FakeUser, questions: Sequence[str], timeout_s: float, tally: _Tally
) -> None:
    chat = FakeChat(user.id, "private", first_name=user.first_name)
    for number, question in enumerate(questions):
        future = replies.expect(chat.id)
        sent = time.perf_counter()
        api.send_text(chat, user, question)
        try:
            arrived, call = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            replies.forget(chat.id)
            tally.lost += len(questions) - number
            return
        tally.last_reply = max(tally.last_reply, arrived)
        text = str((call.result or {}).get("text", ""))
        if text.startswith(_expected_start(question)):
            tally.latencies.append(arrived - sent)
            tally.found += bool((call.result or {}).get("reply_markup"))
        else:
            tally.failed += 1
            if len(tally.failures) < 5:
                tally.failures.append(text[:200])


@contextlib.asynccontextmanager
async def _running_bot(api: FakeBotApi, engine: Engine, settings: Settings) -> AsyncIterator[BotDeps]:
    """The real application, long-polling the fake server, for the duration of the block."""
    application = build_bot(settings, engine)
    await asyncio.wait_for(application.initialize(), SETUP_TIMEOUT_S)
    if application.post_init:  # run_polling() would call it
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES)
    try:
        yield application.bot_data[DEPS_KEY]
    finally:
        await asyncio.wait_for(application.updater.stop(), SETUP_TIMEOUT_S)
        await asyncio.wait_for(application.stop(), SETUP_TIMEOUT_S)
        await asyncio.wait_for(application.shutdown(), SETUP_TIMEOUT_S)
        if application.post_shutdown:  # closes the bot's worker threads and database, not the engine
            await application.post_shutdown(application)


async def _run(
    api: FakeBotApi,
    replies: _Replies,
    run: int,
    askers: int,
    per_asker: int,
    questions: Iterator[str],
    seen: set[str],
    timeout_s: float,
    config: BotConfig,
) -> AskerResult:
    users = [FakeUser(USER_ID_BASE + 100_000 * (run + 1) + a, f"Người hỏi {a + 1}") for a in range(askers)]
    plans = [[next(questions) for _ in range(per_asker)] for _ in users]
    asked = [q for plan in plans for q in plan]
    repeated = 0
    for question in asked:
        repeated += question in seen
        seen.add(question)
    tallies = [_Tally() for _ in users]
    extra_before = replies.extra_messages
    with _LoopLag() as lag:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _ask_in_turn(api, replies, u, plan, timeout_s, t)
                for u, plan, t in zip(users, plans, tallies, strict=True)
            )
        )
    latencies = sorted(x * 1000 for t in tallies for x in t.latencies)
    wall_s = max([t.last_reply for t in tallies] + [started]) - started
    return AskerResult(
        askers=askers,
        questions=len(asked),
        answered=len(latencies),
        found=sum(t.found for t in tallies),
        failed=sum(t.failed for t in tallies),
        lost=sum(t.lost for t in tallies),
        p50_ms=_percentile(latencies, 50),
        p95_ms=_percentile(latencies, 95),
        p99_ms=_percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
        mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        throughput_qps=len(latencies) / wall_s if wall_s > 0 else 0.0,
        wall_s=wall_s,
        loop_lag_max_ms=lag.worst_s * 1000,
        repeated_questions=repeated,
        extra_messages=replies.extra_messages - extra_before,
        per_asker=per_asker,
        workers=config.workers,
        per_user_rate_limit=config.rate_limit_questions,
        failures=tuple(f for t in tallies for f in t.failures)[:5],
    )


async def measure_askers(
    engine: Engine,
    questions: Sequence[str],
    askers: Sequence[int] = (1, 4, 16),
    per_asker: int = 20,
    *,
    settings: Settings | None = None,
    warmup: int = 2,
    timeout_s: float = 60.0,
    progress: Callable[[AskerResult], None] | None = None,
) -> list[AskerResult]:
    """Run the real bot against the fake Bot API server and measure, for each K in
    ``askers`` (in that order), K users asking ``per_asker`` questions each, at once.

    ``questions`` are handed out in order, cycling when they run out: ``warmup`` of them
    are first asked by one user and not measured (the first question pays for loading
    lazily built parts of the engine). ``settings`` default to ``Settings()``; see the
    module docstring for what is changed for the run. ``timeout_s`` is the longest wait
    for one reply; a user whose reply does not come stops asking (the rest count as lost).
    ``progress`` is called with each result as soon as it is measured.
    The bot stops at the end; the engine is left open.
    """
    if not questions or any(not q.strip() for q in questions):
        raise ValueError("give at least one question, and no empty ones")
    if not askers or any(k < 1 for k in askers):
        raise ValueError(f"every asker count must be at least 1: {list(askers)}")
    if per_asker < 1 or warmup < 0 or timeout_s <= 0:
        raise ValueError("per_asker must be at least 1, warmup at least 0 and timeout_s positive")
    base = settings if settings is not None else Settings()
    order = itertools.cycle(questions)
    seen: set[str] = set()
    results: list[AskerResult] = []
    with tempfile.TemporaryDirectory(prefix="hoptac-loadtest-") as data_dir:
        async with FakeBotApi(BENCHMARK_TOKEN) as api:
            bot_settings = benchmark_settings(base, api.url, Path(data_dir))
            async with _running_bot(api, engine, bot_settings) as deps:
                replies = _Replies(api)
                try:
                    if warmup:
                        first = FakeUser(USER_ID_BASE, "Khởi động")
                        planned = [next(order) for _ in range(warmup)]
                        seen.update(planned)
                        tally = _Tally()
                        await _ask_in_turn(api, replies, first, planned, SETUP_TIMEOUT_S, tally)
                        if tally.lost:
                            raise TimeoutError(f"the bot did not answer a warm-up question within {SETUP_TIMEOUT_S} s")
                    for run, count in enumerate(askers):
                        result = await _run(api, replies, run, count, per_asker, order, seen, timeout_s, deps.config)
                        results.append(result)
                        if progress is not None:
                            progress(result)
                finally:
                    replies.close()
    return results


def run_asker_benchmark(
    engine: Engine,
    questions: Sequence[str],
    askers: Sequence[int] = (1, 4, 16),
    per_asker: int = 20,
    *,
    settings: Settings | None = None,
    warmup: int = 2,
    timeout_s: float = 60.0,
    progress: Callable[[AskerResult], None] | None = None,
) -> list[AskerResult]:
    """:func:`measure_askers` on a new event loop (for ``hoptac bench``); not from a running loop."""
    return asyncio.run(
        measure_askers(
            engine,
            questions,
            askers,
            per_asker,
            settings=settings,
            warmup=warmup,
            timeout_s=timeout_s,
            progress=progress,
        )
    )


def goal_problems(results: Sequence[AskerResult], factor: float = 3.0) -> list[str]:
    """What keeps ``results`` from the goal "every question answered, and the p95 with the
    most askers at most ``factor`` times the p95 with one"; [] when it is met."""
    problems = [
        f"{r.askers} askers: {r.questions - r.answered} of {r.questions} questions not answered "
        f"({r.failed} wrong replies, {r.lost} lost)"
        for r in results
        if not r.ok
    ]
    single = [r for r in results if r.askers == 1 and r.answered]
    most = max(results, key=lambda r: r.askers, default=None)
    if single and most is not None and most.askers > 1 and most.p95_ms > factor * single[0].p95_ms:
        problems.append(
            f"p95 with {most.askers} askers is {most.p95_ms:.0f} ms, more than {factor:g} x "
            f"the {single[0].p95_ms:.0f} ms with one"
        )
    return problems


def format_results(results: Sequence[AskerResult]) -> str:
    """A plain-text table, one line per asker count."""
    header = (
        f"{'askers':>6} {'asked':>6} {'answered':>8} {'failed':>6} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'q/s':>7} {'loop lag ms':>11}"
    )
    lines = [header]
    for r in results:
        lines.append(
            f"{r.askers:>6} {r.questions:>6} {r.answered:>8} {r.failed:>6} {r.lost:>5} {r.p50_ms:>8.1f} "
            f"{r.p95_ms:>8.1f} {r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.throughput_qps:>7.1f} {r.loop_lag_max_ms:>11.1f}"
        )
    if results:
        r = results[0]
        limit = "off" if r.per_user_rate_limit == 0 else f"{r.per_user_rate_limit} per user"
        lines.append(f"({r.per_asker} questions per asker, {r.workers} worker threads, per-user rate limit {limit})")
    return "\n".join(lines)
