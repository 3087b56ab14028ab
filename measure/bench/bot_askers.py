"""The bot's latency with concurrent askers, through the loopback fake Bot API server.

``measure.loadtest`` runs the real Telegram application against a local server that speaks the
Bot API, with ``k`` simulated users each sending questions and waiting for the reply; it
reports answered and lost questions, latency percentiles, throughput and the worst
event-loop lag. The engine is frozen out of the garbage collector first, as ``hoptac bot``
does once it has loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def run_bot_askers(
    engine: Any, questions: Sequence[str], askers: Sequence[int], per_asker: int
) -> list[dict[str, Any]]:
    """One round for each number in ``askers``, each simulated user asking ``per_asker`` questions."""
    import gc

    from measure.loadtest import run_asker_benchmark

    gc.collect()
    gc.freeze()  # as `hoptac bot` does once the engine is loaded
    results = run_asker_benchmark(engine, questions, askers=askers, per_asker=per_asker)
    return [result.to_json() for result in results]
