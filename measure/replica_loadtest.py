"""Questions per second through N bot replicas against one: ``hoptac loadtest --replicas 1,2``.

For each N, N real ``hoptac bot`` processes run in webhook mode on the settings' PostgreSQL
(``HOPTAC_DATABASE_URL``), corpus folder and data folder (the index built beforehand),
behind the round-robin load balancer of :mod:`bot.testing.load_balancer`; the fake Bot
API server (:mod:`bot.testing.fake_bot_api`) plays Telegram and POSTs each question to
the webhook. K simulated users, each in a private chat of their own, ask their questions
one after another (the next once the reply to the previous one arrived), all K at once,
as in :mod:`measure.loadtest`: a question counts from the moment it is queued at the fake
server until the reply reaches it.

    results = run_replica_benchmark(settings, replicas=(1, 2), askers=16, per_asker=10)
    print(format_replica_results(results))

What it measures on one machine: the replicas share its cores, so with two replicas on a
2-core machine the figure says what the cluster machinery costs (a PostgreSQL claim and
an answered mark per update, one hop more through the load balancer) and that nothing
is lost or doubled, not how far replicas on machines of their own scale out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.testing.fake_bot_api import FakeBotApi, FakeUser
from bot.testing.load_balancer import LoadBalancer
from hoptac.settings import Settings
from measure.loadtest import (
    BENCHMARK_TOKEN,
    USER_ID_BASE,
    _ask_in_turn,
    _percentile,
    _Replies,
    _Tally,
    questions_from_articles,
)

__all__ = ["ReplicaResult", "format_replica_results", "run_replica_benchmark"]

WEBHOOK_HOST = "hoptac-loadtest.invalid"
START_TIMEOUT_S = 300.0  # loading the model in N processes at once
#: What each replica runs: ``python -m hoptac.cli bot`` (the tests run one without the model).
REPLICA_ARGS: tuple[str, ...] = ("hoptac.cli", "bot")
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ReplicaResult:
    """One run: ``replicas`` bot processes, ``askers`` users asking ``per_asker`` questions each."""

    replicas: int
    askers: int
    questions: int
    answered: int
    failed: int
    lost: int
    throughput_qps: float  # answered / wall_s
    wall_s: float
    p50_ms: float
    p95_ms: float
    redelivered: int  # webhook deliveries that got no 2xx and were made again

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ReplicaStartError(RuntimeError):
    """A replica ended before it was up (its last log lines say why)."""


def free_ports(count: int) -> list[int]:
    """``count`` loopback ports free right now (for replicas, their ops ports, a balancer)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(p.getsockname()[1]) for p in probes]
    finally:
        for probe in probes:
            probe.close()


async def _wait_up(
    process: asyncio.subprocess.Process, name: str, timeout_s: float, on_line: Callable[[str], None] | None = None
) -> None:
    """Until the replica logs that it is up; its log lines are then drained in the background
    (each given to ``on_line``)."""
    assert process.stderr is not None
    lines: list[str] = []

    async def read() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if re.search(r"Bot @\w+ is up", line):
                return
        raise ReplicaStartError(f"replica {name} ended before it was up:\n{''.join(lines[-10:])}")

    await asyncio.wait_for(read(), timeout_s)

    async def drain() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            if on_line is not None:
                on_line(raw.decode("utf-8", "replace"))

    asyncio.get_running_loop().create_task(drain())


@dataclass
class _Running:
    """The replicas of a run, up, behind their load balancer."""

    balancer: LoadBalancer
    processes: list[asyncio.subprocess.Process]


@contextlib.asynccontextmanager
async def _replicas(
    settings: Settings, api: FakeBotApi, count: int, on_line: Sequence[Callable[[str], None]] | None = None
) -> AsyncIterator[_Running]:
    ports = free_ports(2 * count)
    env = {
        **os.environ,
        "HOPTAC_CORPUS_DIR": str(Path(settings.corpus_dir).resolve()),
        "HOPTAC_DATA_DIR": str(Path(settings.data_dir).resolve()),
        "HOPTAC_TELEGRAM_TOKEN": BENCHMARK_TOKEN,
        "HOPTAC_TELEGRAM_API_URL": api.url,
        "HOPTAC_TELEGRAM_WEBHOOK_URL": f"https://{WEBHOOK_HOST}/telegram",
        "HOPTAC_TELEGRAM_WEBHOOK_SECRET": "loadtest-secret",
        "HOPTAC_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "HOPTAC_BOT_RATE_LIMIT_QUESTIONS": "0",
        "HOPTAC_CORPUS_WATCH_SECONDS": "0",
    }
    assert settings.database_url is not None
    env["HOPTAC_DATABASE_URL"] = settings.database_url.get_secret_value()
    processes: list[asyncio.subprocess.Process] = []
    try:
        for number in range(count):
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    *REPLICA_ARGS,
                    env={
                        **env,
                        "HOPTAC_REPLICA_NAME": f"loadtest-{number + 1}",
                        "HOPTAC_TELEGRAM_WEBHOOK_PORT": str(ports[2 * number]),
                        "HOPTAC_METRICS_PORT": str(ports[2 * number + 1]),
                    },
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        await asyncio.gather(
            *(
                _wait_up(p, f"loadtest-{n + 1}", START_TIMEOUT_S, on_line[n] if on_line else None)
                for n, p in enumerate(processes)
            )
        )
        async with LoadBalancer(ports[0::2]) as balancer:
            api.route_webhook(WEBHOOK_HOST, balancer.port)
            await api._wait_until(lambda: len(api.calls_to("setWebhook")) >= count or None, START_TIMEOUT_S)
            yield _Running(balancer, processes)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _measure(
    settings: Settings, count: int, askers: int, per_asker: int, questions: Sequence[str]
) -> ReplicaResult:
    order = itertools.cycle(questions)
    # Update ids of their own: a database that saw an earlier run skips the ids it answered.
    first_update_id = int(time.time() * 1000) % 2_000_000_000
    async with FakeBotApi(BENCHMARK_TOKEN, first_update_id=first_update_id) as api, _replicas(settings, api, count):
        replies = _Replies(api)
        try:
            await warm_up(api, replies, order, count)
            users = [FakeUser(USER_ID_BASE + 100_000 * count + a, f"Người hỏi {a + 1}") for a in range(askers)]
            plans = [[next(order) for _ in range(per_asker)] for _ in users]
            tallies = [_Tally() for _ in users]
            redelivered_before = sum(not d.ok for d in api.deliveries)
            started = time.perf_counter()
            await asyncio.gather(
                *(_ask_in_turn(api, replies, u, p, 120.0, t) for u, p, t in zip(users, plans, tallies, strict=True))
            )
        finally:
            replies.close()
        latencies = sorted(x * 1000 for t in tallies for x in t.latencies)
        wall_s = max([t.last_reply for t in tallies] + [started]) - started
        return ReplicaResult(
            replicas=count,
            askers=askers,
            questions=askers * per_asker,
            answered=len(latencies),
            failed=sum(t.failed for t in tallies),
            lost=sum(t.lost for t in tallies),
            throughput_qps=len(latencies) / wall_s if wall_s > 0 else 0.0,
            wall_s=wall_s,
            p50_ms=_percentile(latencies, 50),
            p95_ms=_percentile(latencies, 95),
            redelivered=sum(not d.ok for d in api.deliveries) - redelivered_before,
        )


def run_replica_benchmark(
    settings: Settings,
    replicas: Sequence[int] = (1, 2),
    askers: int = 16,
    per_asker: int = 10,
    progress: Callable[[ReplicaResult], None] | None = None,
) -> list[ReplicaResult]:
    """One run per number in ``replicas`` (see the module docstring); needs ``database_url``
    and an index already built in ``data_dir`` (``hoptac reindex``)."""
    if settings.database_url is None:
        raise ValueError("replicas share one PostgreSQL: set HOPTAC_DATABASE_URL (and run `hoptac db upgrade`)")
    if not replicas or min(replicas) < 1 or askers < 1 or per_asker < 1:
        raise ValueError("--replicas, --askers and --per-asker must each be at least 1")
    from retrieval.articles.corpus import read_corpus

    articles = read_corpus(Path(settings.corpus_dir)).articles
    questions = questions_from_articles(articles, askers * per_asker * len(replicas) + 10)
    if not questions:
        raise ValueError(f"no questions can be made from the corpus in {settings.corpus_dir}")
    results = []
    for count in replicas:
        result = asyncio.run(_measure(settings, count, askers, per_asker, questions))
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def format_replica_results(results: Sequence[ReplicaResult]) -> str:
    lines = [f"{'replicas':>8} {'asked':>6} {'answered':>8} {'lost':>5} {'q/s':>7} {'p50 ms':>8} {'p95 ms':>8}"]
    for r in results:
        lines.append(
            f"{r.replicas:>8} {r.questions:>6} {r.answered:>8} {r.lost:>5} {r.throughput_qps:>7.1f} "
            f"{r.p50_ms:>8.1f} {r.p95_ms:>8.1f}"
        )
    if results:
        lines.append(f"({results[0].askers} simultaneous askers; the replicas share this machine's cores)")
    return "\n".join(lines)


async def warm_up(api: FakeBotApi, replies: _Replies, order: Iterator[str], count: int) -> None:
    """Two questions per replica first (the round robin spreads them), not measured; a
    replica that does not answer them stops the run."""
    warm = _Tally()
    warm_user = FakeUser(USER_ID_BASE + 1, "Khởi động")
    await _ask_in_turn(api, replies, warm_user, [next(order) for _ in range(2 * count)], START_TIMEOUT_S, warm)
    if warm.lost:
        raise TimeoutError("the replicas did not answer the warm-up questions")
