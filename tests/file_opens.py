"""Which files a piece of code opens, counted without patching anything: every Python file
open (``open``, ``os.open``, ``Path.read_bytes``, ``mkstemp``...) raises the "open" audit event.

    with files_opened(corpus_dir) as opened:
        engine.ingest([new_file])
    assert opened == ["the-new-article.md", ...]

An audit hook cannot be removed, so one hook is installed for the test process and records
only inside a ``files_opened`` block (from every thread: the bot ingests in one of its own).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_RECORDING: list[list[Path]] = []
_LOCK = threading.Lock()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        path = Path(os.fsdecode(args[0]))
        with _LOCK:
            for opened in _RECORDING:
                opened.append(path)


sys.addaudithook(_audit)


@contextlib.contextmanager
def files_opened(folder: Path) -> Iterator[list[str]]:
    """The names of the files directly in ``folder`` opened inside the block, in order (filled when it ends)."""
    opened: list[Path] = []
    names: list[str] = []
    with _LOCK:
        _RECORDING.append(opened)
    try:
        yield names
    finally:
        with _LOCK:
            _RECORDING.remove(opened)
        names.extend(p.name for p in opened if p.parent.resolve() == folder.resolve())
