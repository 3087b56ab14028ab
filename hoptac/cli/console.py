"""What every command shares as it meets the user: progress bars, JSON lines, printed answers,
one-line errors and the signals that stop a long job.

Commands raise :class:`UserError` (or one of :func:`known_errors`) for anything the user can
fix; :func:`hoptac.cli.main` prints it as one line on standard error and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

#: What a command group is given to add its commands: ``add(name, help=..., description=...)``
#: returns the new command's parser, which already takes the options every command takes.
AddCommand = Callable[..., argparse.ArgumentParser]


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 1."""


def known_errors() -> tuple[type[BaseException], ...]:
    """The errors printed as one line (exit code 1) instead of a traceback."""
    from bot.config import BotConfigError
    from retrieval.embedding.embedder import ModelLoadError
    from retrieval.embedding.offline_model import ModelBuildError
    from retrieval.engine import CorpusError, IndexError_, QuestionError
    from retrieval.milvus.index import MilvusIndexError
    from storage.errors import StateStoreError

    return (
        UserError, QuestionError, ModelLoadError, CorpusError, IndexError_, ModelBuildError, StateStoreError,
        MilvusIndexError, BotConfigError,
    )  # fmt: skip


class Progress:
    """tqdm bars on a terminal; otherwise one quiet line per file an ingest reads (stage
    ``"import: <path>"``) and nothing else, so logs and pipes stay clean."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bars: dict[str, Any] = {}
        self._enabled = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage.startswith("model: "):
            print(stage.removeprefix("model: "), file=self._stream)
            return
        item = ""
        if stage.startswith("import: "):
            stage, item = "import", stage.removeprefix("import: ")
            if not self._enabled:
                print(f"[{done}/{total}] {item}", file=self._stream, flush=True)
        if not self._enabled or total <= 0:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            label = {"embed": "embedding", "index": "indexing", "ingest": "saving", "import": "reading"}.get(
                stage, stage
            )
            unit = " files" if item else "it"
            bar = self._bars[stage] = tqdm(total=total, desc=label, unit=unit, file=self._stream, leave=False)
        if item:
            bar.set_postfix_str(item, refresh=False)
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


@contextmanager
def progress() -> Iterator[Progress]:
    """Progress bars on standard error for the duration of the block."""
    bars = Progress(sys.stderr)
    try:
        yield bars
    finally:
        bars.close()


def print_json(obj: Any) -> None:
    """One JSON object on one line of standard output, flushed (for machines reading as it goes)."""
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def print_error(message: str) -> None:
    """``hoptac: error: message`` on standard error."""
    print(f"hoptac: error: {message}", file=sys.stderr)


def _date(published: str | None) -> str:
    if not published:
        return "không rõ ngày"
    return datetime.fromisoformat(published).strftime("%d/%m/%Y")


def print_answer(answer: Any, article_count: int | None = None) -> None:
    """An answer for people: each quote after its mark, then its notes, title, source and date;
    not found, the bot's own words (:func:`markup.catalogue.not_found`, ``article_count``
    articles searched)."""
    if not answer.found:
        from markup.catalogue import not_found

        print(not_found(article_count))
        return
    if answer.confidence == "low":
        from markup.catalogue import LOW_CONFIDENCE

        print(LOW_CONFIDENCE.say())
    for number, citation in enumerate(answer.citations, start=1):
        from markup.catalogue import CAPTION

        print(f"[{number}] {citation.sentence}" + (f" {CAPTION.say()}" if citation.is_caption else ""))
        if citation.unit_notes:
            print(f"    {'; '.join(citation.unit_notes)}")
        origin = ", ".join(x for x in (citation.source, _date(citation.published)) if x)
        print(f"    — {citation.title} ({origin})" + (f" {citation.url}" if citation.url else ""))


@contextmanager
def stopped_by_signals(stop: Any) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (a threading.Event) instead of interrupting: the work in
    hand is finished or given back, then the loop ends."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
