"""The answer engine as the bot sees it: the same calls, awaited, run off the event loop.

Embedding a question and searching the index is blocking CPU work; run on the event
loop it would freeze every other chat. :class:`EngineClient` runs questions in a small
thread pool and a reindex or an ingest in a thread of its own, so questions keep being
answered (from the old index) while a new one is built.

    client = EngineClient(engine, workers=2)
    answer = await client.ask("Hải Dương và Bắc Giang hợp tác những lĩnh vực nào?")
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from retrieval.engine import Engine
from retrieval.models import Answer, Article

if TYPE_CHECKING:
    from pathlib import Path

    from retrieval.engine import IndexStatus, IngestReport, Progress

T = TypeVar("T")


class AnswerCutOff(RuntimeError):
    """The replica is stopping and the answer could not be worked out in the time left."""


class EngineClient:
    """Awaitable engine calls. Close it to stop the worker threads.

    ``cut_off``, when given, returns once answers in flight must be given up (the bot is
    stopping: :meth:`bot.shutdown.Shutdown.answers_cut_off`); an :meth:`ask` still waiting
    then raises :class:`AnswerCutOff` (the worker thread is left to finish on its own).
    """

    def __init__(self, engine: Engine, workers: int = 2, cut_off: Callable[[], Awaitable[None]] | None = None) -> None:
        self.engine = engine
        self._cut_off = cut_off
        #: Told of every first answer to a question and the seconds it took (the metrics).
        self.on_answer: Callable[[Answer, float], None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="hoptac-engine")

    async def _run(self, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    async def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        started = time.perf_counter()
        answer = await self._until_cut_off(self._run(self.engine.ask, question, limit=limit, offset=offset))
        if self.on_answer is not None and offset == 0:
            self.on_answer(answer, time.perf_counter() - started)
        return answer

    async def _until_cut_off(self, work: Awaitable[T]) -> T:
        if self._cut_off is None:
            return await work
        answering = asyncio.ensure_future(work)
        cut_off = asyncio.ensure_future(self._cut_off())
        try:
            await asyncio.wait({answering, cut_off}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cut_off.cancel()
            if not answering.done():
                answering.cancel()
        if not answering.done() or answering.cancelled():
            raise AnswerCutOff("the replica is stopping: the answer was given up")
        return answering.result()

    async def refresh(self) -> bool:
        return await self._run(self.engine.refresh)

    async def status(self) -> IndexStatus:
        return await self._run(self.engine.status)

    async def paragraph_around(self, article_id: str, start: int) -> str:
        return await self._run(self.engine.paragraph_around, article_id, start)

    async def latest_articles(self, n: int = 5) -> list[Article]:
        return await self._run(self.engine.latest_articles, n)

    async def article(self, article_id: str) -> Article:
        """The article with its text (KeyError for an id the index does not hold)."""
        return await self._run(self.engine.article, article_id)

    async def reindex(self, progress: Progress | None = None) -> IndexStatus:
        """Rebuild in a daemon thread of its own: it never takes a question worker, and a
        bot shutting down does not wait for it (the engine swaps the new index in
        atomically, so an abandoned rebuild leaves the old index in place)."""
        return await self._in_own_thread(self.engine.reindex, progress)

    async def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        """Import files into the corpus folder and update the index, in a thread of its own
        like :meth:`reindex` (ingesting rebuilds the index when the corpus changed)."""
        ingest = functools.partial(self.engine.ingest, whole_folder=whole_folder)
        return await self._in_own_thread(ingest, list(paths), progress)

    async def _in_own_thread(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(outcome: Callable[[], None]) -> None:
            if not future.done():
                outcome()

        def work() -> None:
            try:
                result = function(*args)
            except BaseException as exc:
                done = functools.partial(deliver, functools.partial(future.set_exception, exc))
            else:
                done = functools.partial(deliver, functools.partial(future.set_result, result))
            with contextlib.suppress(RuntimeError):  # the event loop is gone: the bot has stopped
                loop.call_soon_threadsafe(done)

        threading.Thread(target=work, name="hoptac-index", daemon=True).start()
        return await future

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
