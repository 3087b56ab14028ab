"""What can be wrong with an index; ``str()`` of each is one line that names the fixing command."""

from __future__ import annotations


class IndexError_(RuntimeError):
    """Base for index problems; ``str()`` is one line that names the fixing command."""


class IndexMissingError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    pass


class IndexBusyError(IndexError_):
    pass
