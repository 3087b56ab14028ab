"""``hoptac bench``: answer latency against its floor, concurrency, ingest, cold start, memory.

For each corpus size (in passages) the benchmark takes whole news articles in a fixed
random order, builds the product's own index for them and measures it; once per run it
measures ingest throughput and the bot. One module a thing measured:

- :mod:`~hoptac.bench.corpus`: the articles (a fixed sample of a news JSONL, a held-out
  tail) and the questions asked of them;
- :mod:`~hoptac.bench.pseudo`: pseudo-articles made of the real articles' sentences, for
  sizes the file cannot fill;
- :mod:`~hoptac.bench.synthetic`: ``--synthetic-vectors``, random vectors where the
  embedding cache has none, and the share of an index they fill;
- :mod:`~hoptac.bench.workspace`: the work folders, one product installation a size;
- :mod:`~hoptac.bench.latency`: answer latency against its floor, and concurrent askers;
- :mod:`~hoptac.bench.ann`: HNSW recall@10 against exact search;
- :mod:`~hoptac.bench.ingest`: one new article into a built index, and bulk ingest
  against raw ``model.encode``;
- :mod:`~hoptac.bench.cold_start`: a fresh process's start-up and peak memory;
- :mod:`~hoptac.bench.footprint`: the index's files on disk and the fresh process's resident
  memory, by component (article text, vectors, lexical index, ANN index, ...);
- :mod:`~hoptac.bench.bot_askers`: the bot with concurrent users through the fake Bot API;
- :mod:`~hoptac.bench.host`: the machine the figures were measured on;
- :mod:`~hoptac.bench.timing`: percentiles of per-question milliseconds;
- :mod:`~hoptac.bench.runner`: :class:`BenchConfig` and :func:`run_bench`, every
  measurement at every size;
- :mod:`~hoptac.bench.report`: the report as Markdown tables and a PNG chart.
"""

from hoptac.bench.ann import MIN_REAL_FOR_RECALL, measure_ann
from hoptac.bench.bot_askers import run_bot_askers
from hoptac.bench.cold_start import measure_cold_start
from hoptac.bench.corpus import (
    ARTICLE_SEED,
    HELD_OUT_LINES,
    QUESTION_SEED,
    Log,
    NewsSample,
    load_sample,
    make_questions,
)
from hoptac.bench.footprint import COMPONENTS, component_of, disk_by_component, memory_by_component, smaps_rss
from hoptac.bench.host import machine
from hoptac.bench.ingest import measure_incremental_ingest, measure_ingest_throughput
from hoptac.bench.latency import measure_concurrency, measure_latency
from hoptac.bench.pseudo import PSEUDO_SEED, PseudoPlan, pseudo_line, pseudo_record
from hoptac.bench.report import format_report, plot_report
from hoptac.bench.runner import BenchConfig, bench_size, build_size, run_bench
from hoptac.bench.synthetic import SyntheticFillEmbedder
from hoptac.bench.timing import percentiles

__all__ = [
    "ARTICLE_SEED",
    "COMPONENTS",
    "HELD_OUT_LINES",
    "MIN_REAL_FOR_RECALL",
    "PSEUDO_SEED",
    "QUESTION_SEED",
    "BenchConfig",
    "Log",
    "NewsSample",
    "PseudoPlan",
    "SyntheticFillEmbedder",
    "bench_size",
    "build_size",
    "component_of",
    "disk_by_component",
    "format_report",
    "load_sample",
    "machine",
    "make_questions",
    "measure_ann",
    "measure_cold_start",
    "measure_concurrency",
    "measure_incremental_ingest",
    "measure_ingest_throughput",
    "measure_latency",
    "memory_by_component",
    "percentiles",
    "plot_report",
    "pseudo_line",
    "pseudo_record",
    "run_bench",
    "run_bot_askers",
    "smaps_rss",
]
