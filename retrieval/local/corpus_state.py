"""Which corpus files the served index version was read from, so that an ingest reads only
what changed, and an ingest of named files reads only those.

Per article file: its stamp (size, modification time, inode), the id of the article in it, a
digest of its bytes, and when the stamp was taken. A file whose stamp is the recorded one is
not read again. A file modified within :data:`RACY_NS` before its stamp was taken is "racy"
(a second change within the file system's timestamp granularity would leave the same
stamp): it is read again, but parsed only when its bytes no longer match the recorded digest.

The state is a SQLite table beside the index (``corpus-state.sqlite3``), keyed by file name
and indexed by article id, so that an ingest of one article looks up and changes O(1) rows
instead of reading and rewriting a record of the whole folder (a million-passage corpus has
about 150,000 files). Only a walk of the folder (``hoptac reindex``, the watcher, an ingest
without arguments) compares every file. ``pending`` is the journal of the files an ingest is
about to write: an ingest killed before it could record them leaves their names there, and
the next ingest, of whatever files, looks at them too (so what the killed one left in the
folder becomes searchable, and is reported new, at once).

The state is a cache: when it is missing, unreadable, of another index version, or cannot be
written, every file is read once by the next ingest and compared with the index. The state
of earlier versions (``corpus-state.npz``, before it ``corpus-state.json``) is imported once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

STATE_FILE = "corpus-state.sqlite3"
#: Written by earlier versions: imported (the npz) and removed.
OLD_STATE_FILES = ("corpus-state.npz", "corpus-state.json")
#: A file modified this close before its stamp was taken is read again at the next look.
RACY_NS = 2_000_000_000
_DIGEST_BYTES = 16
_SCHEMA = 1
_COLUMNS = "name, article_id, size, mtime_ns, inode, digest, seen_ns"
_LOGGER = logging.getLogger(__name__)

Stamp = tuple[int, int, int]  # size, mtime_ns, inode
#: A file that could not be stat'ed: read (and reported) at every scan.
UNREADABLE: Stamp = (-1, -1, -1)


def file_digest(data: bytes) -> bytes:
    """What tells a racy file's bytes from those recorded (a truncated SHA-256)."""
    return hashlib.sha256(data).digest()[:_DIGEST_BYTES]


def stamp_of(info: os.stat_result) -> Stamp:
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def folder_stamps(folder: Path) -> dict[str, Stamp]:
    """The article files directly in ``folder`` (``*.md``, not hidden, as ``read_corpus``) and their stamps."""
    stamps: dict[str, Stamp] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(".md") or name.startswith("."):
                continue
            try:
                stamps[name] = stamp_of(entry.stat())
            except OSError:
                stamps[name] = UNREADABLE
    return stamps


class FileRecord(NamedTuple):
    """One article file as it was last looked at (a tuple: a corpus has 150,000 of them)."""

    stamp: Stamp
    article_id: str
    digest: bytes = b""  # empty when unknown: a racy file is then parsed again
    seen_ns: int = 0  # when the stamp was taken

    def unchanged(self, stamp: Stamp) -> bool:
        """Whether a file now stamped ``stamp`` is surely this one, unread (not racy)."""
        if self.stamp != stamp or stamp == UNREADABLE:
            return False
        return 0 <= stamp[1] < self.seen_ns - RACY_NS

    def same_bytes(self, stamp: Stamp, digest: bytes) -> bool:
        """Whether a (racy) file now stamped ``stamp`` with bytes of ``digest`` is this one."""
        return self.stamp == stamp and bool(self.digest) and self.digest == digest


@dataclass(frozen=True)
class CorpusState:
    """Every recorded file: the corpus folder as index ``version`` was read from it."""

    version: str
    files: dict[str, FileRecord]

    def unchanged(self, name: str, stamp: Stamp) -> FileRecord | None:
        """The record of ``name`` if its stamp is the recorded one and not racy; else None."""
        record = self.files.get(name)
        return record if record is not None and record.unchanged(stamp) else None

    def same_bytes(self, name: str, stamp: Stamp, digest: bytes) -> FileRecord | None:
        """The record of ``name`` if its stamp and bytes are the recorded ones (a racy file
        that did not change); else None."""
        record = self.files.get(name)
        return record if record is not None and record.same_bytes(stamp, digest) else None


class StateUnavailable(Exception):
    """The state cannot be read or written (then it is dropped: the next ingest reads every file)."""


class CorpusStateStore:
    """The corpus state of the index in ``root`` (see the module docstring). Written only by
    the process holding the index's writer lock; every call is a transaction of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._db: sqlite3.Connection | None = None

    # -- connection ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, _SCHEMA):
                    raise sqlite3.DatabaseError(f"corpus state schema {version}, expected {_SCHEMA}")
                with _transaction(db):
                    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, article_id TEXT NOT NULL,"
                        " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,"
                        " digest BLOB NOT NULL, seen_ns INTEGER NOT NULL)"
                    )
                    db.execute("CREATE INDEX IF NOT EXISTS files_by_article ON files (article_id)")
                    db.execute("CREATE TABLE IF NOT EXISTS pending (name TEXT PRIMARY KEY, pid INTEGER NOT NULL)")
                    db.execute(f"PRAGMA user_version={_SCHEMA}")
            except BaseException:
                db.close()
                raise
            self._db = db
            self._import_old_state(db)
        return self._db

    @contextlib.contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """The connection; any failure of SQLite or the disk becomes :class:`StateUnavailable`."""
        try:
            yield self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StateUnavailable(str(exc)) from exc

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def drop(self) -> None:
        """Forget everything (the next ingest reads every file): the state could not be kept."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            _remove(self.root / (STATE_FILE + suffix))

    # -- reading -------------------------------------------------------------------------

    def version(self) -> str | None:
        """The index version the recorded files were read for (None: nothing recorded)."""
        with self._using() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return None if row is None else str(row[0])

    def everything(self, version: str) -> CorpusState | None:
        """Every recorded file, if they were recorded for ``version``; else None (for a walk)."""
        with self._using() as db, _transaction(db, "DEFERRED"):
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is None or row[0] != version:
                return None
            rows = db.execute(f"SELECT {_COLUMNS} FROM files").fetchall()
        return CorpusState(version, {r[0]: FileRecord((r[2], r[3], r[4]), r[1], r[5], r[6]) for r in rows})

    def records(self, names: Iterable[str]) -> dict[str, FileRecord]:
        """The recorded files among ``names``."""
        found: dict[str, FileRecord] = {}
        with self._using() as db:
            for chunk in _chunks(sorted(set(names))):
                marks = ",".join("?" * len(chunk))
                query = f"SELECT {_COLUMNS} FROM files WHERE name IN ({marks})"
                for r in db.execute(query, chunk):
                    found[r[0]] = FileRecord((r[2], r[3], r[4]), r[1], r[5], r[6])
        return found

    def holders(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """Article id -> the recorded files that hold it, for ``article_ids``."""
        found: dict[str, list[str]] = {}
        with self._using() as db:
            for chunk in _chunks(sorted(set(article_ids))):
                marks = ",".join("?" * len(chunk))
                query = f"SELECT article_id, name FROM files WHERE article_id IN ({marks}) ORDER BY name"
                for article_id, name in db.execute(query, chunk):
                    found.setdefault(article_id, []).append(name)
        return found

    def pending(self) -> dict[str, int]:
        """The files ingests were about to write and did not record (name -> the ingest's pid)."""
        with self._using() as db:
            return dict(db.execute("SELECT name, pid FROM pending").fetchall())

    # -- writing -------------------------------------------------------------------------

    def add_pending(self, names: Iterable[str], pid: int | None = None) -> None:
        """Journal the files process ``pid`` (this one) is about to write (committed before it writes them)."""
        pid = os.getpid() if pid is None else pid
        with self._using() as db, _transaction(db):
            db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?)", [(n, pid) for n in names])

    def forget_pending(self, names: Iterable[str]) -> None:
        with self._using() as db, _transaction(db):
            db.executemany("DELETE FROM pending WHERE name = ?", [(n,) for n in names])

    def record(
        self,
        version: str,
        changed: Mapping[str, FileRecord],
        gone: Iterable[str] = (),
        settled: Iterable[str] = (),
        whole: bool = False,
    ) -> None:
        """In one transaction: the files in ``changed`` recorded (replacing their rows), those
        in ``gone`` forgotten, the ``settled`` pending names cleared, and ``version`` named.
        ``whole``: ``changed`` is every file (all other rows and the journal are dropped)."""
        rows = [
            (name, r.article_id, r.stamp[0], r.stamp[1], r.stamp[2], r.digest, r.seen_ns) for name, r in changed.items()
        ]
        with self._using() as db, _transaction(db):
            if whole:
                db.execute("DELETE FROM files")
                db.execute("DELETE FROM pending")
            db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in gone])
            db.executemany("DELETE FROM pending WHERE name = ?", [(n,) for n in settled])
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))

    # -- the state of earlier versions ----------------------------------------------------

    def _import_old_state(self, db: sqlite3.Connection) -> None:
        """Take in ``corpus-state.npz`` (written by earlier versions) once, then remove the old files."""
        old = self.root / OLD_STATE_FILES[0]
        if not any((self.root / name).exists() for name in OLD_STATE_FILES):
            return
        imported = _read_npz(old)
        if imported is not None and db.execute("SELECT 1 FROM meta WHERE key = 'version'").fetchone() is None:
            version, files = imported
            self.record(version, files, whole=True)
            _LOGGER.info("Corpus state: %s files imported from %s", len(files), old.name)
        for name in OLD_STATE_FILES:
            _remove(self.root / name)


def _read_npz(path: Path) -> tuple[str, dict[str, FileRecord]] | None:
    """The index version and the files of a ``corpus-state.npz``; None when it is not usable."""
    separator = "\x00"
    try:
        with np.load(path, allow_pickle=False) as data:
            version = bytes(data["version"]).decode()
            scanned_ns = int(data["scanned_ns"])
            names = bytes(data["names"]).decode().split(separator)
            ids = bytes(data["ids"]).decode().split(separator)
            stamps = [tuple(s) for s in data["stamps"].tolist()]
            digests = data["digests"]
        if not (len(names) == len(ids) == len(stamps) == len(digests)):
            return None
        known = digests.any(axis=1).tolist()  # all zeros: not recorded
        blob = digests.tobytes()
        files = {
            name: FileRecord(
                s, article_id, blob[i * _DIGEST_BYTES : (i + 1) * _DIGEST_BYTES] if known[i] else b"", scanned_ns
            )
            for i, (name, article_id, s) in enumerate(zip(names, ids, stamps, strict=True))
        }
        return version, files
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, zipfile.BadZipFile, EOFError):
        return None


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    db.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
