"""Named points where a test may kill the process outright, to check what a ``kill -9`` at
that moment leaves behind (tests/retrieval/local/test_faults.py, tests/hoptac/test_faults_cli.py).

Off unless ``HOPTAC_TEST_KILL_AT`` names the point: then the process sends itself SIGKILL
there, with nothing undone and nothing flushed. It exists only for the fault tests.

    crash_point("before-swap")   # no-op in production
"""

from __future__ import annotations

import os
import signal

#: The points, in the order an ingest passes them.
POINTS = ("before-corpus-write", "during-corpus-write", "after-corpus-write", "before-swap", "after-swap")


def crash_point(name: str) -> None:
    """Die by SIGKILL here if ``HOPTAC_TEST_KILL_AT`` is ``name`` (read each time, so a test's
    child process may set it after it started)."""
    if os.environ.get("HOPTAC_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
