"""Give the C allocator's freed memory back to the system during a large build.

A build lets go of millions of Python strings (the passages' and sentences' texts) before it
makes its largest arrays. glibc keeps what they used in its heap, where numpy's large arrays
(mapped pages of their own) cannot reuse it, so the resident set would hold both: at a
million passages, gigabytes. ``malloc_trim(0)`` returns the heap's free pages to the system;
elsewhere than glibc it is absent and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def return_freed_memory() -> bool:
    """Return the heap's free pages to the system; whether the allocator could (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
