"""How the benchmark summarises timings: percentiles of per-question milliseconds.

Every measurement times one operation at a time with ``time.perf_counter`` and reports
p50, p95, p99 and the mean, rounded to hundredths of a millisecond (all zero when nothing
was timed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and mean of ``samples_ms``."""
    values = np.asarray(samples_ms, dtype=np.float64)
    if not len(values):
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "mean": round(float(values.mean()), 2),
    }
