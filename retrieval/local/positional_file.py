"""An index file read by position (``os.pread``), never memory-mapped.

A question reads about a hundred articles and a few hundred vector rows scattered over
files of hundreds of megabytes. Through a memory map each of those small reads makes the
kernel map the pages around it too ("fault-around", 64 KB), and every mapped page counts in
the process's resident memory until it is evicted: after 50 questions a 500,000-passage index
had 380 MB of its files resident, for a few megabytes read. ``pread`` copies just the bytes
asked for; the rest stays in the page cache, shared and reclaimable, outside the process.

The file descriptor is opened once and kept: ``pread`` does not move a file position, so any
number of threads read through it at once, and an index version removed from disk while a
question still reads it goes on reading the same (unlinked) file, as a memory map would.
It is closed by :meth:`close` or when the object is collected.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

from retrieval.engine import IndexCorruptError


class PositionalFile:
    """A read-only file read at byte offsets, by any number of threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._closer = weakref.finalize(self, os.close, self._fd)
        self.size = os.fstat(self._fd).st_size

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset``; IndexCorruptError when the file ends before them."""
        data = os.pread(self._fd, size, offset)
        if len(data) == size:
            return data
        chunks = [data]  # a short read: the rest, until the end of the file
        done = len(data)
        while done < size:
            more = os.pread(self._fd, size - done, offset + done)
            if not more:
                raise self._too_short()
            chunks.append(more)
            done += len(more)
        return b"".join(chunks)

    def read_into(self, offset: int, buffer: memoryview) -> None:
        """Fill the writable ``buffer`` (a numpy array's bytes, say) from ``offset``, without
        an intermediate copy; IndexCorruptError when the file ends before it is full."""
        done = 0
        while done < len(buffer):
            got = os.preadv(self._fd, [buffer[done:]], offset + done)
            if got <= 0:
                raise self._too_short()
            done += got

    def close(self) -> None:
        """Close the file now, once no thread reads it (later reads raise OSError); calling it
        again does nothing."""
        self._closer()
        self._fd = -1  # never a number the system may give another file

    @property
    def closed(self) -> bool:
        return not self._closer.alive

    def _too_short(self) -> IndexCorruptError:
        return IndexCorruptError(f"index file {self.path.name} is truncated: run `hoptac reindex`")
