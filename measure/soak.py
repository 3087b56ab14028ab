"""A soak run of N bot replicas: ``hoptac loadtest --replicas 3 --soak-minutes 20 --rate 2``.

The replicas, the load balancer and the fake Bot API server are those of
:mod:`measure.replica_loadtest`; instead of asking as fast as the replies come, questions
are asked at a steady rate (``rate`` per second, not enough to saturate the machine), each
by a user of a pool who has no question waiting, for ``minutes`` minutes. Per window
(a minute by default) it records the questions asked in it, how many of those were
answered, answered wrongly (an error message or anything else than an answer) or lost
(no reply within ``timeout_s``), their p50 and p95 latency, each replica's resident
memory at the window's end (``VmRSS`` of the process and its children, from /proc) and the
error lines the replicas logged; at the end, each replica's memory growth (last window
against the first) and the totals.

    result = run_soak(settings, replicas=3, minutes=20, rate=2.0)
    print(format_soak(result))
    plot_soak(result, Path("soak.png"))

The run is bounded: asking stops after ``minutes``; a question still waiting then gets at
most ``timeout_s`` more; starting and stopping the replicas have limits of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.testing.fake_bot_api import FakeBotApi, FakeChat, FakeUser
from hoptac.settings import Settings
from measure.loadtest import (
    BENCHMARK_TOKEN,
    USER_ID_BASE,
    _expected_start,
    _percentile,
    _Replies,
    questions_from_articles,
)
from measure.replica_loadtest import _replicas, warm_up

__all__ = ["SoakResult", "SoakWindow", "format_soak", "plot_soak", "run_soak"]

#: Users in the pool: a question waits for one of them only when this many are waiting for replies.
POOL_SIZE = 64
#: A log line of a replica that counts as an error.
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|^Traceback")


@dataclass(frozen=True)
class SoakWindow:
    """One window of the run; the questions are those *asked* in it, latencies in ms."""

    window: int  # 0-based
    start_s: float  # from the start of the soak
    asked: int
    answered: int
    failed: int
    lost: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    rss_mb: tuple[float, ...]  # each replica's resident memory at the window's end
    error_lines: tuple[int, ...]  # error lines each replica logged during the window


@dataclass(frozen=True)
class SoakResult:
    replicas: int
    rate_qps: float  # asked for
    window_s: float
    duration_s: float  # of the asking
    windows: tuple[SoakWindow, ...]
    asked: int
    answered: int
    failed: int
    lost: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    late_starts: int  # questions asked more than a second after their time (no free user, a busy loop)
    rss_first_mb: tuple[float, ...]  # each replica's memory at the end of the first window
    rss_last_mb: tuple[float, ...]  # ... and of the last
    redelivered: int  # webhook deliveries that got no 2xx and were made again
    extra_messages: int  # messages no question was waiting for
    error_lines: tuple[int, ...]  # per replica, over the whole run
    failures: tuple[str, ...] = field(default=())  # the first few wrong replies

    @property
    def rss_growth_mb(self) -> tuple[float, ...]:
        return tuple(last - first for first, last in zip(self.rss_first_mb, self.rss_last_mb, strict=True))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rss_growth_mb"] = list(self.rss_growth_mb)
        return data


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB (0.0 once it is gone)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return total_kb / 1024


@dataclass
class _Asked:
    window: int
    latency_s: float | None = None  # answered
    failed: bool = False
    lost: bool = False


async def _soak(settings: Settings, count: int, minutes: float, rate: float, window_s: float, timeout_s: float,
                questions: Sequence[str], progress: Callable[[SoakWindow], None] | None) -> SoakResult:  # fmt: skip
    order = itertools.cycle(questions)
    first_update_id = int(time.time() * 1000) % 2_000_000_000
    errors_by_replica = [0] * count

    def counter(number: int) -> Callable[[str], None]:
        def on_line(line: str) -> None:
            if ERROR_LINE.search(line):
                errors_by_replica[number] += 1

        return on_line

    async with (
        FakeBotApi(BENCHMARK_TOKEN, first_update_id=first_update_id) as api,
        _replicas(settings, api, count, on_line=[counter(n) for n in range(count)]) as running,
    ):
        replies = _Replies(api)
        try:
            await warm_up(api, replies, order, count)
            free: asyncio.Queue[FakeUser] = asyncio.Queue()
            for n in range(POOL_SIZE):
                free.put_nowait(FakeUser(USER_ID_BASE + 500_000 + n, f"Người hỏi {n + 1}"))
            asked: list[_Asked] = []
            failures: list[str] = []
            extra_before = replies.extra_messages
            redelivered_before = sum(not d.ok for d in api.deliveries)
            windows_total = max(round(minutes * 60 / window_s), 1)
            duration_s = windows_total * window_s
            errors_before = list(errors_by_replica)
            rss: list[tuple[float, ...]] = []
            window_errors: list[tuple[int, ...]] = []
            loop = asyncio.get_running_loop()
            started = loop.time()

            async def ask(user: FakeUser, question: str, record: _Asked) -> None:
                chat = FakeChat(user.id, "private", first_name=user.first_name)
                try:
                    future = replies.expect(chat.id)
                    sent = time.perf_counter()
                    api.send_text(chat, user, question)
                    try:
                        arrived, call = await asyncio.wait_for(future, timeout_s)
                    except TimeoutError:
                        replies.forget(chat.id)
                        record.lost = True
                        return
                    text = str((call.result or {}).get("text", ""))
                    if text.startswith(_expected_start(question)):
                        record.latency_s = arrived - sent
                    else:
                        record.failed = True
                        if len(failures) < 5:
                            failures.append(text[:200])
                finally:
                    free.put_nowait(user)

            def window(number: int) -> SoakWindow:
                mine = [a for a in asked if a.window == number]
                latencies = sorted(a.latency_s * 1000 for a in mine if a.latency_s is not None)
                return SoakWindow(
                    window=number,
                    start_s=number * window_s,
                    asked=len(mine),
                    answered=len(latencies),
                    failed=sum(a.failed for a in mine),
                    lost=sum(a.lost for a in mine),
                    p50_ms=_percentile(latencies, 50),
                    p95_ms=_percentile(latencies, 95),
                    max_ms=latencies[-1] if latencies else 0.0,
                    rss_mb=rss[number],
                    error_lines=window_errors[number],
                )

            def close_window(number: int) -> None:
                rss.append(tuple(_rss_mb(p.pid) for p in running.processes))
                logged = tuple(now - before for now, before in zip(errors_by_replica, errors_before, strict=True))
                window_errors.append(logged)
                errors_before[:] = errors_by_replica
                if progress is not None:
                    progress(window(number))

            async def sampler() -> None:
                for number in range(windows_total):
                    await asyncio.sleep(max(started + (number + 1) * window_s - loop.time(), 0))
                    close_window(number)

            sampling = loop.create_task(sampler())
            tasks: list[asyncio.Task[None]] = []
            late = 0
            for n in itertools.count():
                due = started + n / rate
                if due >= started + duration_s:
                    break
                await asyncio.sleep(max(due - loop.time(), 0))
                user = await free.get()
                now = loop.time()
                late += now - due > 1.0
                if now >= started + duration_s:
                    free.put_nowait(user)
                    break
                record = _Asked(window=min(int((now - started) / window_s), windows_total - 1))
                asked.append(record)
                tasks.append(loop.create_task(ask(user, next(order), record)))
            await sampling
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            replies.close()
        windows = [window(n) for n in range(windows_total)]
        latencies = sorted(a.latency_s * 1000 for a in asked if a.latency_s is not None)
        return SoakResult(
            replicas=count,
            rate_qps=rate,
            window_s=window_s,
            duration_s=duration_s,
            windows=tuple(windows),
            asked=len(asked),
            answered=len(latencies),
            failed=sum(a.failed for a in asked),
            lost=sum(a.lost for a in asked),
            p50_ms=_percentile(latencies, 50),
            p95_ms=_percentile(latencies, 95),
            max_ms=latencies[-1] if latencies else 0.0,
            late_starts=late,
            rss_first_mb=rss[0],
            rss_last_mb=rss[-1],
            redelivered=sum(not d.ok for d in api.deliveries) - redelivered_before,
            extra_messages=replies.extra_messages - extra_before,
            error_lines=tuple(sum(w.error_lines[r] for w in windows) for r in range(count)),
            failures=tuple(failures),
        )


def run_soak(
    settings: Settings,
    replicas: int = 3,
    minutes: float = 20.0,
    rate: float = 2.0,
    *,
    window_s: float = 60.0,
    timeout_s: float = 60.0,
    progress: Callable[[SoakWindow], None] | None = None,
) -> SoakResult:
    """The soak (see the module docstring); needs ``database_url`` and an index built in
    ``data_dir`` (``hoptac reindex``). ``progress`` gets each window as it closes (replies
    still on their way then are counted in the result, not there)."""
    if settings.database_url is None:
        raise ValueError("replicas share one PostgreSQL: set HOPTAC_DATABASE_URL (and run `hoptac db upgrade`)")
    if replicas < 1 or minutes <= 0 or rate <= 0 or window_s <= 0 or timeout_s <= 0:
        raise ValueError("--replicas must be at least 1; --soak-minutes, --rate and the window positive")
    from retrieval.articles.corpus import read_corpus

    articles = read_corpus(Path(settings.corpus_dir)).articles
    questions = questions_from_articles(articles, 100_000)
    if not questions:
        raise ValueError(f"no questions can be made from the corpus in {settings.corpus_dir}")
    return asyncio.run(_soak(settings, replicas, minutes, rate, window_s, timeout_s, questions, progress))


def format_soak(result: SoakResult) -> str:
    """A plain-text table, one line per window, and the totals."""
    names = " ".join(f"{'rss' + str(r + 1) + ' MiB':>10}" for r in range(result.replicas))
    lines = [
        f"{'window':>6} {'asked':>6} {'answered':>8} {'failed':>6} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} {names}"
    ]
    for w in result.windows:
        memory = " ".join(f"{mb:>10.1f}" for mb in w.rss_mb)
        lines.append(
            f"{w.window + 1:>6} {w.asked:>6} {w.answered:>8} {w.failed:>6} {w.lost:>5} {w.p50_ms:>8.1f} "
            f"{w.p95_ms:>8.1f} {memory}"
        )
    growth = ", ".join(f"{mb:+.1f}" for mb in result.rss_growth_mb)
    lines.append(
        f"{result.asked} asked at {result.rate_qps:g}/s over {result.duration_s / 60:g} min, "
        f"{result.replicas} replicas: "
        f"{result.answered} answered, {result.failed} failed, {result.lost} lost; p50 {result.p50_ms:.0f} ms, "
        f"p95 {result.p95_ms:.0f} ms; memory growth (last window - first) {growth} MiB; "
        f"error lines logged {list(result.error_lines)}; {result.late_starts} questions asked late"
    )
    return "\n".join(lines)


def plot_soak(result: SoakResult, path: Path) -> None:
    """Memory per replica, p50/p95 and the answered/failed/lost counts per window, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    x = [(w.start_s + result.window_s) / 60 for w in result.windows]
    figure, (memory, latency, counts) = pyplot.subplots(3, 1, figsize=(8, 9), sharex=True)
    for r in range(result.replicas):
        growth = result.rss_growth_mb[r]
        memory.plot(x, [w.rss_mb[r] for w in result.windows], marker=".", label=f"replica {r + 1} ({growth:+.1f} MiB)")
    memory.set_ylabel("resident memory (MiB)")
    memory.legend(loc="lower right")
    memory.grid(alpha=0.3)
    latency.plot(x, [w.p50_ms for w in result.windows], marker=".", label="p50")
    latency.plot(x, [w.p95_ms for w in result.windows], marker=".", label="p95")
    latency.set_ylabel("latency (ms)")
    latency.set_ylim(bottom=0)
    latency.legend(loc="lower right")
    latency.grid(alpha=0.3)
    counts.plot(x, [w.answered for w in result.windows], marker=".", label="answered")
    counts.plot(x, [w.failed + w.lost for w in result.windows], marker=".", label="failed or lost")
    counts.set_ylabel(f"questions per {result.window_s:g} s")
    counts.set_xlabel("minutes into the soak (end of each window)")
    counts.set_ylim(bottom=0)
    counts.legend(loc="center right")
    counts.grid(alpha=0.3)
    figure.suptitle(
        f"{result.replicas} replicas, {result.rate_qps:g} questions/s for {result.duration_s / 60:g} min: "
        f"{result.answered}/{result.asked} answered"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
