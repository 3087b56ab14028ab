"""``run_bench``: every measurement at every corpus size, in one report.

For each size (in passages) the runner builds the product's index for the first articles
of the sample through ``LocalEngine.ingest`` in ``<work_dir>/<size>/`` (kept between runs,
so a second run re-embeds nothing), makes questions from those articles, and measures
answer latency against its floor, concurrent askers, HNSW recall, incremental ingest and
a fresh process's cold start, peak memory and memory by component, and the index's files on
disk by component. Where a size needs more than the file's real articles, pseudo-articles
made of their text follow them (:mod:`measure.bench.pseudo`). Once per run it measures
ingest throughput on held-out articles and, on the largest size, the bot with concurrent
askers. The report is a plain dict (what ``--json`` prints); :mod:`measure.bench.report`
formats it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hoptac.settings import Settings
from measure.bench.ann import MIN_REAL_FOR_RECALL, measure_ann
from measure.bench.bot_askers import run_bot_askers
from measure.bench.build import build_in_fresh_process
from measure.bench.cold_start import measure_cold_start
from measure.bench.corpus import QUESTION_SEED, Log, NewsSample, load_sample, make_questions
from measure.bench.footprint import disk_by_component
from measure.bench.host import machine
from measure.bench.ingest import measure_incremental_ingest, measure_ingest_throughput
from measure.bench.latency import measure_concurrency, measure_latency
from measure.bench.milvus import bench_milvus
from measure.bench.synthetic import SyntheticFillEmbedder, count_synthetic
from measure.bench.workspace import open_engine
from retrieval.embedding.embedder import Embedder


@dataclass
class BenchConfig:
    jsonl: Path
    sizes: list[int]
    work_dir: Path
    questions: int = 300
    warmup: int = 20
    askers: tuple[int, ...] = (1, 4, 16)
    bot_askers: tuple[int, ...] = (1, 16)
    bot_questions: int = 10  # per asker
    ingest_sample: int = 256  # passages embedded from scratch for the ingest ratio
    synthetic: bool = False
    cold_start: bool = True
    ann: bool = True
    #: Milvus to ask beside the local index (``HOPTAC_SEARCH_URL``); None: the local index only.
    search_url: str | None = None
    #: Build each new index in a fresh process, to measure the build's own peak memory
    #: (:mod:`measure.bench.build`); off when the caller gives an embedder of its own.
    fresh_process_builds: bool = True


def build_size(
    base: Settings, config: BenchConfig, embedder: Embedder, sample: NewsSample, size: int, log: Log
) -> tuple[Any, Path, int, dict[str, Any] | None]:
    """The product's index for the first articles making ``size`` passages (reused when
    built), and, when it had to be built, the build's report: built in a fresh process
    (:mod:`measure.bench.build`), so that its peak memory is the build's own."""
    count = sample.prefix(size)
    folder = config.work_dir / (f"{size}-synthetic" if config.synthetic else str(size))
    engine = open_engine(base, folder, embedder)
    articles_file = folder / "articles.jsonl"
    sample.write_lines(articles_file, count)
    built: dict[str, Any] | None = None
    if config.fresh_process_builds and engine.store.current_version() is None:
        log(f"{size:,} passages: building the index of {count:,} articles in {folder}, in a fresh process")
        built = build_in_fresh_process(base.data_dir, folder, articles_file, synthetic=config.synthetic)
        engine = open_engine(base, folder, embedder)
    log(f"{size:,} passages: indexing {count:,} articles in {folder}")
    report = engine.ingest([articles_file])  # what is already indexed is a no-op
    if not report.ok:
        raise RuntimeError(f"{report.failures[0].path}: {report.failures[0].reason}")
    return engine, folder, count, built


def bench_size(
    base: Settings, config: BenchConfig, embedder: Embedder, sample: NewsSample, size: int, log: Log
) -> dict[str, Any]:
    """Every per-size measurement on the index for ``size`` passages."""
    started = time.perf_counter()
    engine, folder, count, built = build_size(base, config, embedder, sample, size, log)
    build_s = time.perf_counter() - started
    index = engine.index
    manifest = index.manifest
    questions = make_questions(sample.articles[:count], config.warmup + config.questions)
    warmup, measured = questions[: config.warmup], questions[config.warmup :]
    result: dict[str, Any] = {
        "size": size,
        "articles": manifest.articles,
        "passages": manifest.passages,
        "sentences": manifest.sentences,
        "dense_index": manifest.dense_kind,
        "pseudo_articles": sample.pseudo_articles(count),
        "pseudo_passages": sample.pseudo_passages(count),
        "index_bytes": engine.store.size_bytes(),
        "build_s": round(build_s, 1),
    }
    if built is not None:
        result["build"] = built  # the fresh process's: seconds, peak memory, by step
    if index.path is not None:
        result["index_bytes_by_component"] = disk_by_component(index.path)
    synthetic = count_synthetic(index, embedder) if isinstance(embedder, SyntheticFillEmbedder) else None
    if synthetic:
        result["synthetic_passage_share"] = synthetic.passage_share
        result["synthetic_share"] = synthetic.share
    log(f"{size:,} passages: latency over {len(measured)} questions")
    result["latency"] = measure_latency(engine, measured, warmup)
    if config.search_url is not None:
        prefix = f"bench_{size}" + ("_synthetic" if config.synthetic else "")
        result["milvus"] = bench_milvus(engine, config.search_url, prefix, embedder, measured, warmup, log)
    log(f"{size:,} passages: concurrent askers {list(config.askers)}")
    result["concurrency"] = measure_concurrency(engine, measured, config.askers)
    if config.ann:
        log(f"{size:,} passages: HNSW recall against exact search")
        queries = np.vstack([engine.embedder().encode_raw([q], "query") for q in measured[:200]])
        own = index.dense if manifest.dense_kind == "hnsw" and not index.delta else None
        result["ann"] = measure_ann(index.passage_vectors, queries, index=own)
        if synthetic and MIN_REAL_FOR_RECALL <= len(synthetic.real_rows) < synthetic.live_passages:
            # Random vectors are HNSW's hardest case; recall on the model's own vectors alone.
            real_rows = synthetic.real_rows
            log(f"{size:,} passages: HNSW recall on the {len(real_rows):,} real passage vectors")
            result["ann_real"] = measure_ann(index.passage_vectors[real_rows], queries)
            result["ann_real"]["vectors"] = len(real_rows)
    log(f"{size:,} passages: incremental ingest of one new article")
    # The new article goes through the model even with --synthetic-vectors, as in production.
    model_embedder = getattr(embedder, "model_embedder", embedder)
    result["incremental_ingest"] = measure_incremental_ingest(base, folder, model_embedder, sample.held_out_lines[0])
    if config.cold_start:
        log(f"{size:,} passages: cold start in a fresh process")
        result["cold_start"] = measure_cold_start(engine.config, measured[:50])
    return result


def run_bench(base: Settings, config: BenchConfig, log: Log, embedder: Embedder | None = None) -> dict[str, Any]:
    """The whole benchmark: each size of ``config``, then ingest throughput and the bot."""
    from retrieval.local.engine import LocalEngine

    if not config.jsonl.exists():
        raise FileNotFoundError(f"{config.jsonl} is absent: give a JSONL of articles with --jsonl")
    config.work_dir.mkdir(parents=True, exist_ok=True)
    if embedder is None:
        embedder = LocalEngine(base.engine_config()).embedder()
    else:  # an embedder of the caller's own cannot be rebuilt in another process
        config = replace(config, fresh_process_builds=False)
    if config.synthetic:
        embedder = SyntheticFillEmbedder(embedder)
    sizes = sorted(set(config.sizes))
    sample = load_sample(config.jsonl, sizes[-1], log)
    available = sum(sample.passages)
    report: dict[str, Any] = {
        "machine": machine(),
        "model": embedder.model_id,
        "jsonl": str(config.jsonl),
        "synthetic_vectors": config.synthetic,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "real_articles": sample.real_count,
        "real_passages": sum(sample.passages[: sample.real_count]),
        "sizes": [],
    }
    for size in sizes:
        if size > available:
            log(f"{size:,} passages: skipped, {config.jsonl.name} makes only {available:,} with pseudo-articles")
            report.setdefault("skipped", []).append({"size": size, "available_passages": available})
            continue
        report["sizes"].append(bench_size(base, config, embedder, sample, size, log))
    log("ingest throughput against raw model.encode")
    real = embedder.model_embedder if isinstance(embedder, SyntheticFillEmbedder) else embedder
    report["ingest"] = measure_ingest_throughput(
        base, real, sample.held_out_lines[1:], config.ingest_sample, config.work_dir
    )
    if config.bot_askers and report["sizes"]:
        largest = report["sizes"][-1]["size"]
        log(f"bot: concurrent askers {list(config.bot_askers)} through the fake Bot API server")
        engine, _, count, _ = build_size(base, config, embedder, sample, largest, log)
        questions = make_questions(
            sample.articles[:count], max(config.bot_askers) * config.bot_questions, seed=QUESTION_SEED + 1
        )
        askers = run_bot_askers(engine, questions, config.bot_askers, config.bot_questions)
        report["bot"] = {"size": largest, "askers": askers}
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report
