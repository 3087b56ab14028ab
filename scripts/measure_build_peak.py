"""Peak memory of the first half of an index build: segmenting, embedding and storing compactly.

    .venv/bin/python scripts/measure_build_peak.py --passages 1000000 --data-dir /work/perfdata

Takes the benchmark's articles for ``--passages`` passages (``hoptac bench``'s corpus, with
pseudo-articles beyond the news file), embeds them as ``hoptac bench --synthetic-vectors``
does (the cache's vectors, random ones for the rest) and runs the build's segment step
(``retrieval/local/index.py: _build_segment``) up to the lexical postings, which it does not
build; prints the resident set before and the peak (``VmHWM``) after. This is the phase
whose peak was 21.5 GB in the first million-passage build (docs/benchmarks.md).
Development tool: nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any

from hoptac.settings import Settings
from measure.bench.corpus import load_sample
from measure.bench.synthetic import SyntheticFillEmbedder
from measure.commands import NEWS_JSONL, NEWS_JSONL_DEFAULT
from retrieval import index as index_module
from retrieval.local.engine import LocalEngine
from retrieval.vietnamese.analyzer import Analyzer


class _Stop(Exception):
    """Raised where the lexical postings would be built."""


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(line for line in status if line.startswith(key)).split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=None, help="where the embedding cache and model are")
    parser.add_argument("--jsonl", type=Path, default=None, help=f"news articles (default: {NEWS_JSONL_DEFAULT})")
    args = parser.parse_args()
    base = Settings(_env_file=None) if args.data_dir is None else Settings(data_dir=args.data_dir, _env_file=None)  # type: ignore[call-arg]
    jsonl = args.jsonl if args.jsonl is not None else base.shared_data_dir / NEWS_JSONL
    embedder = SyntheticFillEmbedder(LocalEngine(base.engine_config()).embedder())
    sample = load_sample(jsonl, args.passages, lambda message: None)
    count = sample.prefix(args.passages)
    articles = sorted(sample.articles[:count], key=lambda a: a.id)
    print(f"{count:,} articles; before: RSS {_status_mb('VmRSS:'):,.0f} MB", flush=True)

    def stop(cls: Any, token_lists: Any) -> Any:
        raise _Stop

    index_module.Postings.build = classmethod(stop)  # type: ignore[method-assign, assignment]
    started = time.perf_counter()
    with contextlib.suppress(_Stop):
        index_module._build_segment("", articles, embedder, Analyzer(), None)
    print(
        f"segmented, embedded and stored compactly in {time.perf_counter() - started:.0f} s: "
        f"RSS {_status_mb('VmRSS:'):,.0f} MB, peak {_status_mb('VmHWM:'):,.0f} MB"
    )


if __name__ == "__main__":
    main()
