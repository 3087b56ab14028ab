"""The load test (measure/loadtest.py): simulated users through the fake Bot API, all answered.

Small numbers and no timing assertions: these check the bookkeeping, not the speed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from hoptac.settings import Settings
from measure.loadtest import (
    LAG_PROBE_S,
    AskerResult,
    _LoopLag,
    format_results,
    goal_problems,
    measure_askers,
    questions_from_articles,
    run_asker_benchmark,
)
from retrieval.local.engine import LocalEngine
from tests.bot_harness import FAILING, MOU, FakeEngine
from tests.conftest import HashingEmbedder


@pytest.fixture
def hashing_engine(settings: Settings) -> LocalEngine:
    """The real engine over a copy of the corpus, with the instant fake embedder."""
    engine = LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    engine.reindex()
    return engine


async def test_every_asker_gets_every_answer(hashing_engine: LocalEngine, settings: Settings) -> None:
    questions = questions_from_articles(hashing_engine.latest_articles(10), 40)
    # A per-user limit of 2 would refuse each user's third question: the load test turns it off.
    limited = settings.model_copy(update={"bot_rate_limit_questions": 2})
    seen: list[AskerResult] = []

    results = await measure_askers(
        hashing_engine, questions, askers=(1, 4), per_asker=3, settings=limited, warmup=1, progress=seen.append
    )

    assert [r.askers for r in results] == [1, 4] and seen == results
    for result, asked in zip(results, (3, 12), strict=True):
        assert result.questions == result.answered == asked, result.failures
        assert result.ok and result.failed == result.lost == result.extra_messages == 0
        assert 0 <= result.found <= result.answered
        assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
        assert result.throughput_qps > 0 and result.wall_s > 0 and result.loop_lag_max_ms >= 0
        assert result.repeated_questions == 0  # 1 + 3 + 12 questions of 40 distinct ones
        assert result.per_asker == 3 and result.per_user_rate_limit == 0
        assert result.workers == settings.bot_workers
        assert set(result.to_json()) >= {"askers", "answered", "lost", "p50_ms", "p95_ms", "p99_ms", "throughput_qps"}
    assert goal_problems(results, factor=1e9) == []
    table = format_results(results)
    assert len(table.splitlines()) == 4 and "rate limit off" in table


def test_wrong_replies_and_repeated_questions_are_counted(tmp_path: Path) -> None:
    """The synchronous wrapper; a question the engine fails on gets the bot's error message,
    which is not an answer; questions given fewer times than asked repeat."""
    settings = Settings(_env_file=None, data_dir=tmp_path, corpus_dir=tmp_path / "corpus")  # type: ignore[call-arg]
    questions = [f"{MOU[:40]}?", f"Câu hỏi {FAILING}?", "Hải Dương ký kết gì?"]

    [result] = run_asker_benchmark(FakeEngine(), questions, askers=(2,), per_asker=3, settings=settings, warmup=0)

    assert result.questions == 6 and result.lost == 0
    assert result.failed == 2 and result.answered == 4 and not result.ok
    assert result.failures and all("lỗi" in text for text in result.failures)
    assert result.repeated_questions == 3
    assert goal_problems([result]) == ["2 askers: 2 of 6 questions not answered (2 wrong replies, 0 lost)"]


def test_a_question_the_bot_tidies_still_counts_as_answered(tmp_path: Path) -> None:
    """The bot drops stray end punctuation and extra spaces before echoing a question (a
    sentence opening cut after ten words ends with a comma): that reply is the answer."""
    settings = Settings(_env_file=None, data_dir=tmp_path, corpus_dir=tmp_path / "corpus")  # type: ignore[call-arg]
    questions = ["Hải Dương ký kết gì,", "Bắc Giang  phối hợp   những dự án nào? ;"]

    [result] = run_asker_benchmark(FakeEngine(), questions, askers=(1,), per_asker=2, settings=settings, warmup=0)

    assert result.answered == 2 and result.failed == 0, result.failures


def test_the_goal_compares_the_p95_of_the_most_askers_with_one() -> None:
    one = AskerResult(
        askers=1,
        questions=20,
        answered=20,
        found=20,
        failed=0,
        lost=0,
        p50_ms=40.0,
        p95_ms=50.0,
        p99_ms=55.0,
        max_ms=55.0,
        mean_ms=41.0,
        throughput_qps=24.0,
        wall_s=0.8,
        loop_lag_max_ms=2.0,
        repeated_questions=0,
        extra_messages=0,
        per_asker=20,
        workers=2,
    )
    sixteen = replace(one, askers=16, questions=320, answered=320, p95_ms=151.0)

    assert goal_problems([one, replace(sixteen, p95_ms=150.0)]) == []
    assert goal_problems([one, sixteen]) == ["p95 with 16 askers is 151 ms, more than 3 x the 50 ms with one"]


def test_questions_from_articles_are_distinct_runs_of_the_articles_words(hashing_engine: LocalEngine) -> None:
    article = hashing_engine.latest_articles(1)[0]
    questions = questions_from_articles([article], 200)

    assert len(questions) == len(set(questions)) == 200
    assert all(q.endswith("?") and len(q.split()) <= 7 for q in questions)
    assert questions_from_articles([article], 5) == questions[:5]


async def test_bad_arguments_are_refused(hashing_engine: LocalEngine) -> None:
    with pytest.raises(ValueError):
        await measure_askers(hashing_engine, [], askers=(1,))
    with pytest.raises(ValueError):
        await measure_askers(hashing_engine, ["câu hỏi"], askers=(0,))


async def test_the_loop_lag_probe_sees_a_blocked_loop() -> None:
    """What ``loop_lag_max_ms`` would show if something blocked the bot's event loop."""
    with _LoopLag() as lag:
        await asyncio.sleep(0)  # the probe starts, its timer is set
        time.sleep(0.1)  # blocks the loop, as a blocking call in a handler would
        await asyncio.sleep(2 * LAG_PROBE_S)  # the (late) timer fires
    assert lag.worst_s >= 0.09
