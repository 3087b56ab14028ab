"""``hoptac bench``: answer latency against its floor, concurrency, ingest, cold start, memory.

For each corpus size (in passages) the benchmark takes whole news articles in a fixed
random order, builds the product's own index for them and measures it; once per run it
measures ingest throughput and the bot. One module a thing measured:

- :mod:`~measure.bench.corpus`: the articles (a fixed sample of a news JSONL, a held-out
  tail) and the questions asked of them;
- :mod:`~measure.bench.pseudo`: pseudo-articles made of the real articles' sentences, for
  sizes the file cannot fill;
- :mod:`~measure.bench.synthetic`: ``--synthetic-vectors``, random vectors where the
  embedding cache has none, and the share of an index they fill;
- :mod:`~measure.bench.workspace`: the work folders, one product installation a size;
- :mod:`~measure.bench.latency`: answer latency against its floor, and concurrent askers;
- :mod:`~measure.bench.ann`: HNSW recall@10 against exact search;
- :mod:`~measure.bench.ingest`: one new article into a built index, and bulk ingest
  against raw ``model.encode``;
- :mod:`~measure.bench.cold_start`: a fresh process's start-up and peak memory;
- :mod:`~measure.bench.footprint`: the index's files on disk and the fresh process's resident
  memory, by component (article text, vectors, lexical index, ANN index, ...);
- :mod:`~measure.bench.bot_askers`: the bot with concurrent users through the fake Bot API;
- :mod:`~measure.bench.host`: the machine the figures were measured on;
- :mod:`~measure.bench.timing`: percentiles of per-question milliseconds;
- :mod:`~measure.bench.runner`: :class:`BenchConfig` and :func:`run_bench`, every
  measurement at every size;
- :mod:`~measure.bench.report`: the report as Markdown tables and a PNG chart.
"""

from measure.bench.ann import MIN_REAL_FOR_RECALL, measure_ann
from measure.bench.bot_askers import run_bot_askers
from measure.bench.cold_start import measure_cold_start
from measure.bench.corpus import (
    ARTICLE_SEED,
    HELD_OUT_LINES,
    QUESTION_SEED,
    Log,
    NewsSample,
    load_sample,
    make_questions,
)
from measure.bench.footprint import COMPONENTS, component_of, disk_by_component, memory_by_component, smaps_rss
from measure.bench.host import machine
from measure.bench.ingest import measure_incremental_ingest, measure_ingest_throughput
from measure.bench.latency import measure_concurrency, measure_latency
from measure.bench.pseudo import PSEUDO_SEED, PseudoPlan, pseudo_line, pseudo_record
from measure.bench.report import format_report, plot_report
from measure.bench.runner import BenchConfig, bench_size, build_size, run_bench
from measure.bench.synthetic import SyntheticFillEmbedder
from measure.bench.timing import percentiles

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
