"""Which corpus files an index version was read from, so that an ingest reads only what changed.

Per article file: its stamp (size, modification time, inode), the id of the article in it,
and a digest of its bytes. A scan of the corpus folder compares each file's stamp with the
recorded one and reads only the files whose stamp moved. A file modified within
:data:`RACY_NS` before the recorded scan is "racy" (a second change within the file
system's timestamp granularity would leave the same stamp): it is read again, but parsed
only when its bytes no longer match the recorded digest.

The state is a cache beside the index: when it is missing, unreadable or of another index
version, every file is read once and compared with the index. It is stored as a few flat
arrays (``corpus-state.npz``), not JSON: a million-passage corpus has about 150,000 files,
whose JSON took half a second to read and as much to write at every ingest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

STATE_FILE = "corpus-state.npz"
#: Written by earlier versions; removed when the new file is written.
OLD_STATE_FILE = "corpus-state.json"
#: A file modified this close to the scan that recorded it is read again at the next scan.
RACY_NS = 2_000_000_000
_DIGEST_BYTES = 16
_SEPARATOR = "\x00"  # in neither a file name nor (checked) an article id

Stamp = tuple[int, int, int]  # size, mtime_ns, inode
#: A file that could not be stat'ed: read (and reported) at every scan.
UNREADABLE: Stamp = (-1, -1, -1)


def file_digest(data: bytes) -> bytes:
    """What tells a racy file's bytes from those recorded (a truncated SHA-256)."""
    return hashlib.sha256(data).digest()[:_DIGEST_BYTES]


def folder_stamps(folder: Path) -> dict[str, Stamp]:
    """The article files directly in ``folder`` (``*.md``, not hidden, as ``read_corpus``) and their stamps."""
    stamps: dict[str, Stamp] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(".md") or name.startswith("."):
                continue
            try:
                info = entry.stat()
                stamps[name] = (info.st_size, info.st_mtime_ns, info.st_ino)
            except OSError:
                stamps[name] = UNREADABLE
    return stamps


class FileRecord(NamedTuple):
    """One article file as a scan saw it (a tuple: a corpus has 150,000 of them)."""

    stamp: Stamp
    article_id: str
    digest: bytes = b""  # empty when unknown: a racy file is then parsed again


@dataclass(frozen=True)
class CorpusState:
    """The corpus folder as index ``version`` was read from it (see module docstring)."""

    version: str
    scanned_ns: int
    files: dict[str, FileRecord]

    def unchanged(self, name: str, stamp: Stamp) -> FileRecord | None:
        """The record of ``name`` if its stamp is the recorded one and not racy; else None."""
        record = self.files.get(name)
        if record is None or record.stamp != stamp or stamp == UNREADABLE:
            return None
        return record if 0 <= stamp[1] < self.scanned_ns - RACY_NS else None

    def same_bytes(self, name: str, stamp: Stamp, digest: bytes) -> FileRecord | None:
        """The record of ``name`` if its stamp and bytes are the recorded ones (a racy file
        that did not change); else None."""
        record = self.files.get(name)
        if record is None or record.stamp != stamp or not record.digest or record.digest != digest:
            return None
        return record


def read_state(root: Path, version: str) -> CorpusState | None:
    """The state recorded for ``version`` in ``root``; None when there is none usable."""
    try:
        with np.load(root / STATE_FILE, allow_pickle=False) as data:
            recorded = bytes(data["version"]).decode()
            if recorded != version:
                return None
            scanned_ns = int(data["scanned_ns"])
            names = bytes(data["names"]).decode().split(_SEPARATOR)
            ids = bytes(data["ids"]).decode().split(_SEPARATOR)
            stamps = [tuple(s) for s in data["stamps"].tolist()]
            digests = data["digests"]
        if not (len(names) == len(ids) == len(stamps) == len(digests)):
            return None
        known = digests.any(axis=1).tolist()  # all zeros: not recorded
        blob = digests.tobytes()
        files = {
            name: FileRecord(
                s,  # three ints, as written
                article_id,
                blob[i * _DIGEST_BYTES : (i + 1) * _DIGEST_BYTES] if known[i] else b"",
            )
            for i, (name, article_id, s) in enumerate(zip(names, ids, stamps, strict=True))
        }
        return CorpusState(version, scanned_ns, files)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, zipfile.BadZipFile, EOFError):
        return None


def write_state(root: Path, state: CorpusState) -> None:
    """Record ``state`` beside the index (atomically). Only a cache: when it cannot be
    written, the next ingest reads every corpus file once and compares it with the index."""
    names = list(state.files)
    ids = [record.article_id for record in state.files.values()]
    if any(_SEPARATOR in x for x in (*names, *ids)) or not names:
        _remove(root / STATE_FILE)
        return
    digests = np.zeros((len(names), _DIGEST_BYTES), dtype=np.uint8)
    for i, record in enumerate(state.files.values()):
        if len(record.digest) == _DIGEST_BYTES:
            digests[i] = np.frombuffer(record.digest, dtype=np.uint8)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{STATE_FILE}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                version=np.frombuffer(state.version.encode(), dtype=np.uint8),
                scanned_ns=np.int64(state.scanned_ns),
                names=np.frombuffer(_SEPARATOR.join(names).encode(), dtype=np.uint8),
                ids=np.frombuffer(_SEPARATOR.join(ids).encode(), dtype=np.uint8),
                stamps=np.array([record.stamp for record in state.files.values()], dtype=np.int64),
                digests=digests,
            )
        os.replace(tmp, root / STATE_FILE)
        _remove(root / OLD_STATE_FILE)
    except OSError:
        pass
    finally:
        if tmp is not None:
            _remove(Path(tmp))  # gone already once replaced


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
