"""The watched corpus folder: files dropped into ``corpus_dir`` are picked up while the bot runs.

    watcher = CorpusWatcher(corpus_dir, imported_dir)
    change = watcher.look()            # None: nothing changed since the last look
    ...ingest change.to_import...      # non-Markdown files; the .md files are the corpus itself
    moved = watcher.set_aside(change.to_import, failed_files)
    watcher.done(change, moved, written_md_files)

The folder is compared by each file's name, size and modification time with the last
look. When anything changed, the bot runs the engine's ingest (as ``hoptac ingest``
does): the ``.md`` files are the corpus and are indexed where they lie (the new and
changed ones are also given to the ingest by name, ``FolderChange.articles``: where the
articles live in PostgreSQL, the folder is an import source and only named files get in;
the local engines skip them, their update of the folder takes them in); a file in any
other format ``hoptac ingest`` reads (``.txt``, ``.html``, ``.jsonl``, ...) is converted
into ``.md`` articles in the folder and then moved to ``data_dir/imported/`` (or
``imported/failed/`` when it could not be read at all), so it is not read twice and the
folder keeps holding only the corpus. Hidden files, editors' and browsers' partial files
and sub-folders are left alone. While a file is still being written (changed since the
previous look and modified in the last ``settle_s`` seconds) the whole folder waits for
the next look. A file dropped while an ingest runs is a change at the next look.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

#: Endings of files that are still being written by some other program.
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int


Snapshot = dict[str, FileState]


@dataclass
class FolderChange:
    """What a look found: the folder's state and the non-Markdown files ready to import."""

    snapshot: Snapshot
    to_import: list[Path] = field(default_factory=list)
    articles: list[Path] = field(default_factory=list)  # .md files new or changed since the last handled look
    unsettled: bool = False  # some file is still being written: look again next time


class CorpusWatcher:
    """See the module docstring. Blocking file-system calls: run them in a worker thread."""

    def __init__(
        self, corpus_dir: Path, imported_dir: Path, settle_s: float = 2.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.corpus_dir = corpus_dir
        self.imported_dir = imported_dir
        self.settle_s = settle_s
        self._clock = clock
        self._handled: Snapshot | None = None  # the folder as the last handled change left it
        self._seen: Snapshot = {}  # the folder at the last look
        self.turn = asyncio.Lock()  # one look at a time (held by the job, on the event loop)
        self.last_error: str | None = None
        self.last_change_at: str | None = None

    def scan(self) -> Snapshot:
        """The visible files directly in the corpus folder (empty when it does not exist)."""
        snapshot: Snapshot = {}
        try:
            entries = list(os.scandir(self.corpus_dir))
        except FileNotFoundError:
            return snapshot
        for entry in entries:
            if entry.name.startswith(".") or entry.name.endswith(PARTIAL_SUFFIXES):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:  # removed while we looked
                continue
            snapshot[entry.name] = FileState(stat.st_size, stat.st_mtime_ns)
        return snapshot

    def look(self) -> FolderChange | None:
        """What changed since the last :meth:`done`; None when nothing did."""
        snapshot = self.scan()
        previous, self._seen = self._seen, snapshot
        if snapshot == self._handled:
            return None
        change = FolderChange(snapshot)
        now = self._clock()
        handled = self._handled or {}
        for name, state in sorted(snapshot.items()):
            settled = previous.get(name) == state or now - state.mtime_ns / 1e9 >= self.settle_s
            if not settled:
                change.unsettled = True
            elif not name.endswith(".md"):
                change.to_import.append(self.corpus_dir / name)
            elif handled.get(name) != state:
                change.articles.append(self.corpus_dir / name)
        return change

    def done(self, change: FolderChange, moved: Iterable[Path] = (), written: Iterable[Path] = ()) -> None:
        """``change`` was handled: ``moved`` files left the folder, ``written`` ones were
        (re)written by the ingest. Anything else that changed since the look (a file dropped
        while the ingest ran) is still a change at the next look."""
        handled = dict(change.snapshot)
        for path in moved:
            handled.pop(path.name, None)
        for path in written:
            try:
                stat = path.stat()
            except FileNotFoundError:
                handled.pop(path.name, None)
                continue
            handled[path.name] = FileState(stat.st_size, stat.st_mtime_ns)
        self._handled = handled
        self.last_change_at = datetime.now(UTC).isoformat(timespec="seconds")

    def set_aside(self, paths: Iterable[Path], failed: Iterable[Path] = ()) -> list[Path]:
        """Move imported files to ``imported/`` (``imported/failed/`` for ``failed``); returns
        those that moved (a file that cannot be moved is logged and stays)."""
        failed = set(failed)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = []
        for path in paths:
            folder = self.imported_dir / "failed" if path in failed else self.imported_dir
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{stamp}-{path.name}"
            number = 1
            while target.exists():
                number += 1
                target = folder / f"{stamp}-{number}-{path.name}"
            try:
                shutil.move(str(path), target)
            except OSError as exc:
                _LOGGER.error("Cannot move %s out of the corpus folder: %s", path, exc)
                continue
            moved.append(path)
        return moved
