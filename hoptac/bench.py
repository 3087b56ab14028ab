"""``hoptac bench``: answer latency against its floor, concurrency, ingest, cold start, memory.

For each corpus size (in passages) the benchmark takes whole news articles in a fixed
random order (seed 13, the order ``hoptac eval --distractors`` uses, so the embedding cache
is shared), builds the product's own index for them through ``AnswerEngine.ingest`` in
``<work_dir>/<size>/`` (kept between runs: a second run re-embeds nothing), then measures:

- **answer latency** of the full ``ask`` path (query embedding, dense and lexical search,
  fusion, sentence selection, found decision, JSON formatting), one question at a time
  after a warm-up, and side by side the **floor**: one query embedding plus one exact
  FAISS search over the same passage vectors. Both are timed question by question in
  the same loop, so their ratio is the pipeline's overhead;
- **throughput** with 1, 4 and 16 threads asking at once;
- **approximate search**: recall@10 of an HNSW index against exact search, and its latency;
- **incremental ingest** of one new article into (a hard-linked copy of) the index;
- **cold start** (imports, model load, index load, first answer) and **peak RSS** in a fresh
  process that then answers questions, and the index size on disk.

Once per run: **ingest throughput** on held-out articles with an empty cache against raw
``model.encode`` on the same passages, and (optionally) the bot's latency with concurrent
askers through the loopback fake Bot API server.

Questions are made from the indexed articles: a third are titles, a third titles typed
without diacritics, a third the first words of a sentence from the body.

``--synthetic-vectors`` fills passages the embedding cache does not hold with deterministic
random unit vectors instead of running the model (queries still use the model). Latency,
memory and size figures stay meaningful; recall figures do not. The report says how many
vectors were synthetic.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hoptac.settings import Settings
from retrieval.config import EngineConfig
from retrieval.embedding import Embedder, EmbeddingCache
from retrieval.models import Article
from retrieval.text import fold, nfc

QUESTION_SEED = 7
ARTICLE_SEED = 13
HELD_OUT_LINES = 400  # the tail of the shuffled file: never in any size's corpus
MIN_REAL_FOR_RECALL = 1_000  # real passage vectors needed to report recall on them alone

Log = Callable[[str], None]


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


# -- articles ----------------------------------------------------------------------------


@dataclass
class NewsSample:
    """Articles in the benchmark's fixed order, each with its raw JSONL line and passage count."""

    lines: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)
    held_out_lines: list[str] = field(default_factory=list)

    def prefix(self, size: int) -> int:
        """How many leading articles make at least ``size`` passages."""
        total = 0
        for count, n in enumerate(self.passages, start=1):
            total += n
            if total >= size:
                return count
        return len(self.passages)


def _import_lines(lines: Sequence[str]) -> list[tuple[str, Article]]:
    """Parse JSONL lines with the product's importer; unparsable lines are skipped."""
    from retrieval.importers import import_path

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        sample.write_text("".join(lines), "utf-8")
        result = import_path(sample)
    by_id = {a.id: a for a in result.articles}
    pairs: list[tuple[str, Article]] = []
    for line in lines:
        try:
            record_id = str(json.loads(line).get("id", ""))
        except json.JSONDecodeError:
            continue
        article = by_id.get(record_id) or by_id.get(nfc(record_id))
        if article is not None:
            pairs.append((line, article))
    return pairs


def load_sample(path: Path, passages: int, log: Log) -> NewsSample:
    """Articles of ``path`` (JSONL or JSONL.gz) in a fixed random order until ``passages``."""
    from retrieval.passages import passage_windows
    from retrieval.sentences import split_sentences

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = [line if line.endswith("\n") else line + "\n" for line in handle if line.strip()]
    random.Random(ARTICLE_SEED).shuffle(lines)
    held = min(HELD_OUT_LINES, max(len(lines) // 10, 3), len(lines) // 2)
    sample = NewsSample(held_out_lines=lines[len(lines) - held :])
    body = lines[: len(lines) - held]
    total = 0
    for start in range(0, len(body), 500):
        for line, article in _import_lines(body[start : start + 500]):
            n = len(passage_windows(split_sentences(article)))
            sample.lines.append(line)
            sample.articles.append(article)
            sample.passages.append(n)
            total += n
            if total >= passages:
                return sample
        log(f"reading articles: {total:,} passages")
    return sample


# -- questions ---------------------------------------------------------------------------


def make_questions(articles: Sequence[Article], count: int, seed: int = QUESTION_SEED) -> list[str]:
    """``count`` distinct questions about ``articles``: titles, unaccented titles, sentence openings."""
    from retrieval.sentences import split_sentences

    rng = random.Random(seed)
    order = list(range(len(articles)))
    rng.shuffle(order)
    questions: list[str] = []
    seen: set[str] = set()
    for turn, i in enumerate(order * 3):
        if len(questions) >= count:
            break
        article = articles[i]
        kind = turn % 3
        if kind == 0:
            question = article.title
        elif kind == 1:
            question = fold(article.title)
        else:
            sentences = [s.text for s in split_sentences(article) if len(s.text.split()) >= 8]
            if not sentences:
                continue
            question = " ".join(rng.choice(sentences).split()[:10])
        question = question.strip()[:300]
        if question and question not in seen:
            seen.add(question)
            questions.append(question)
    return questions


# -- embedders ---------------------------------------------------------------------------


class SyntheticFillEmbedder(Embedder):
    """The real model for queries and cached passages; random unit vectors for the rest.

    Nothing synthetic is written to the embedding cache. Sentence vectors are taken the same
    way (cached or random), whatever the setting ``sentence_vectors``: no span pooling."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real._model, real.name, real._cache, real._batch_size, real.sentence_vectors)
        self.synthetic = 0
        self.real = 0
        self.model_embedder = real  # for work that must really run the model (a new article)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        cached = self.cached_vectors(texts)
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            vector = cached.get(text)
            if vector is None:
                seed = int.from_bytes(hashlib.sha256(nfc(text).encode()).digest()[:8], "little")
                vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
                vector /= np.linalg.norm(vector)
                self.synthetic += 1
            else:
                self.real += 1
            matrix[row] = vector
        return matrix, 0

    def supports_span_pooling(self) -> bool:
        return False


# -- measurements ------------------------------------------------------------------------


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
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


def _settings_for(base: Settings, folder: Path) -> Settings:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    models = data / "models"
    if not models.exists() and not models.is_symlink():
        models.symlink_to(base.models_dir.resolve(), target_is_directory=True)
    return base.model_copy(update={"corpus_dir": folder / "corpus", "data_dir": data})


def _forget_queries(engine: Any) -> None:
    """Empty the query-embedding cache, so every timed question pays for its own embedding."""
    clear = getattr(engine.embedder().encode_query, "cache_clear", None)
    if clear:
        clear()


def _ask_timed(engine: Any, question: str) -> tuple[float, bool]:
    """Milliseconds for one answer, JSON formatting included, and whether it was found."""
    started = time.perf_counter()
    answer = engine.ask(question)
    json.dumps(answer.to_json(), ensure_ascii=False)
    return (time.perf_counter() - started) * 1000, answer.found


def measure_latency(engine: Any, questions: Sequence[str], warmup: Sequence[str]) -> dict[str, Any]:
    """Full ask path and its floor (query embedding + exact FAISS search), question by question."""
    import faiss

    from retrieval.answering import CANDIDATES

    index = engine.index
    embedder = engine.embedder()
    exact = faiss.IndexFlatIP(index.passage_vectors.shape[1])
    exact.add(np.ascontiguousarray(index.passage_vectors, dtype=np.float32))
    for question in warmup:
        engine.ask(question)
        exact.search(embedder.encode_raw([question], "query"), CANDIDATES)
    full: list[float] = []
    floor: list[float] = []
    found = 0
    for i, question in enumerate(questions):
        # Alternate which goes first so neither always runs on a warmer cache.
        for step in ("full", "floor") if i % 2 == 0 else ("floor", "full"):
            if step == "full":
                _forget_queries(engine)
                elapsed, answered = _ask_timed(engine, question)
                full.append(elapsed)
                found += answered
            else:
                started = time.perf_counter()
                exact.search(embedder.encode_raw([question], "query"), CANDIDATES)
                floor.append((time.perf_counter() - started) * 1000)
    full_p, floor_p = percentiles(full), percentiles(floor)
    return {
        "questions": len(questions),
        "found_share": round(found / max(len(questions), 1), 3),
        "ask_ms": full_p,
        "floor_ms": floor_p,
        "overhead_p50": round(full_p["p50"] / floor_p["p50"], 2) if floor_p["p50"] else None,
        "overhead_p95": round(full_p["p95"] / floor_p["p95"], 2) if floor_p["p95"] else None,
    }


def measure_concurrency(engine: Any, questions: Sequence[str], askers: Sequence[int]) -> list[dict[str, Any]]:
    """Questions/s and latency with ``k`` threads asking at once (each waits for its answer)."""
    results = []
    for k in askers:
        pending: Iterator[str] = iter(questions)
        lock = threading.Lock()
        latencies: list[float] = []
        _forget_queries(engine)  # each question is new to the query cache, once per round

        def worker(
            pending: Iterator[str] = pending, lock: threading.Lock = lock, latencies: list[float] = latencies
        ) -> None:
            while True:
                with lock:
                    question = next(pending, None)
                if question is None:
                    return
                elapsed, _ = _ask_timed(engine, question)
                with lock:
                    latencies.append(elapsed)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=k) as pool:
            for future in [pool.submit(worker) for _ in range(k)]:
                future.result()
        wall = time.perf_counter() - started
        results.append(
            {
                "askers": k,
                "questions": len(latencies),
                "questions_per_s": round(len(latencies) / wall, 2),
                "latency_ms": percentiles(latencies),
            }
        )
    return results


def measure_ann(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> dict[str, Any]:
    """Recall@k of the HNSW index the product uses above its size threshold, against exact search."""
    import faiss

    from retrieval.dense import DenseIndex, DenseIndexKind

    started = time.perf_counter()
    hnsw = DenseIndex.build(vectors, DenseIndexKind.HNSW)
    build_s = time.perf_counter() - started
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    recalls, hnsw_ms, exact_ms = [], [], []
    for query in queries:
        t0 = time.perf_counter()
        ids, _ = hnsw.search(query, k)
        t1 = time.perf_counter()
        _, truth = exact.search(query.reshape(1, -1), k)
        t2 = time.perf_counter()
        recalls.append(len(set(ids.tolist()) & set(truth[0].tolist())) / k)
        hnsw_ms.append((t1 - t0) * 1000)
        exact_ms.append((t2 - t1) * 1000)
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "hnsw_ms": percentiles(hnsw_ms),
        "exact_ms": percentiles(exact_ms),
        "hnsw_build_s": round(build_s, 1),
    }


def measure_incremental_ingest(base: Settings, folder: Path, embedder: Embedder, line: str) -> dict[str, Any]:
    """Ingest one new article into a hard-linked copy of ``folder``'s corpus and index."""
    from retrieval.engine import AnswerEngine

    copy = folder.parent / f".{folder.name}-ingest-{os.getpid()}"
    shutil.rmtree(copy, ignore_errors=True)
    try:
        shutil.copytree(folder / "corpus", copy / "corpus", copy_function=os.link)
        shutil.copytree(folder / "data" / "index", copy / "data" / "index", copy_function=os.link)
        settings = _settings_for(base, copy)
        engine = AnswerEngine(settings.engine_config(), embedder=embedder)
        passages_before = engine.index.manifest.passages
        record = json.loads(line)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        record["id"] = f"bench-new-{stamp}"
        record["title"] = f"{record.get('title', '')} ({stamp})"  # new text: really embedded
        article_file = copy / "new-article.jsonl"
        article_file.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
        started = time.perf_counter()
        report = engine.ingest([article_file])
        seconds = time.perf_counter() - started
        if not report.ok or report.changes.get(record["id"]) != "new":
            raise RuntimeError(f"the probe article was not ingested: {report.failures}")
        manifest = engine.index.manifest
        return {
            "seconds": round(seconds, 3),
            "passages_added": manifest.passages - passages_before,
            "embedded": manifest.embedded,
        }
    finally:
        shutil.rmtree(copy, ignore_errors=True)


_COLD_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from hoptac.settings import Settings
from retrieval.engine import AnswerEngine
t1 = time.perf_counter()
settings = Settings(corpus_dir=sys.argv[1], data_dir=sys.argv[2], _env_file=None)
engine = AnswerEngine.open(settings.engine_config())  # what the bot and the CLI run: model and index side by side
t2 = time.perf_counter()
questions = json.loads(sys.argv[3])
engine.ask(questions[0])
t3 = time.perf_counter()
for q in questions[1:]:
    engine.ask(q)
# VmHWM is this process's own peak; ru_maxrss would include the forked parent's memory.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"imports_s": t1 - t0, "model_and_index_s": t2 - t1, "first_answer_s": t3 - t2,
                  "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


def measure_cold_start(settings: EngineConfig, questions: Sequence[str]) -> dict[str, Any]:
    """A fresh process: imports, model load, index load (verified), first answer, peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _COLD_PROBE,
            str(settings.corpus_dir),
            str(settings.data_dir),
            json.dumps(list(questions)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cold-start probe failed: {done.stderr.strip().splitlines()[-1:]}")
    result = {k: round(v, 3) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    result["ready_s"] = round(result["imports_s"] + result["model_and_index_s"], 3)
    result["process_s"] = round(wall, 3)
    result["questions_answered"] = len(questions)
    return result


def measure_ingest_throughput(
    base: Settings, embedder: Embedder, held_out: Sequence[str], passages: int, work_dir: Path
) -> dict[str, Any] | None:
    """Ingest held-out articles with an empty cache, and raw ``model.encode`` on the same passages."""
    from retrieval.engine import AnswerEngine
    from retrieval.index import _segment

    pairs = _import_lines(held_out)
    chosen: list[tuple[str, Article]] = []
    total = 0
    for line, article in pairs:
        chosen.append((line, article))
        _, ps = _segment([article])
        total += len(ps)
        if total >= passages:
            break
    if not chosen:
        return None
    per_article, segs = _segment([a for _, a in chosen])
    passage_texts = [p.text for p in segs]
    sentence_texts = [s.text for ss in per_article for s in ss]
    folder = work_dir / f".ingest-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        settings = _settings_for(base, folder)
        fresh = embedder.with_cache(EmbeddingCache(folder / "cache.sqlite3"))
        engine = AnswerEngine(settings.engine_config(), embedder=fresh)
        sample = folder / "sample.jsonl"
        sample.write_text("".join(line for line, _ in chosen), "utf-8")
        embedder.encode_raw(passage_texts[:8])  # warm the model
        started = time.perf_counter()
        embedder.encode_raw(passage_texts)
        raw_s = time.perf_counter() - started
        started = time.perf_counter()
        embedder.encode_raw(sentence_texts)
        raw_sentences_s = time.perf_counter() - started
        started = time.perf_counter()
        report = engine.ingest([sample])
        ingest_s = time.perf_counter() - started
        if not report.ok:
            raise RuntimeError(f"ingest failed: {report.failures[0]}")
        # The same ingest with sentence vectors made the other way (setting sentence_vectors).
        mode = getattr(embedder, "sentence_vectors", "span")
        other_mode = "standalone" if mode == "span" else "span"
        other_ingest_s = None
        if isinstance(embedder, Embedder):
            other = embedder.with_cache(EmbeddingCache(folder / "other-cache.sqlite3"), other_mode)
            other_settings = _settings_for(base, folder / "other").model_copy(update={"sentence_vectors": other_mode})
            other_engine = AnswerEngine(other_settings.engine_config(), embedder=other)
            (folder / "other").mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            other_report = other_engine.ingest([sample])
            other_ingest_s = time.perf_counter() - started
            if not other_report.ok:
                raise RuntimeError(f"ingest failed: {other_report.failures[0]}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    n = len(passage_texts)
    result: dict[str, Any] = {
        "articles": len(chosen),
        "passages": n,
        "sentences": len(sentence_texts),
        "ingest_s": round(ingest_s, 2),
        "ingest_passages_per_s": round(n / ingest_s, 2),
        "encode_passages_per_s": round(n / raw_s, 2),
        "encode_sentences_per_s": round(len(sentence_texts) / raw_sentences_s, 2),
        "sentence_vectors": mode,
        "ratio": round(raw_s / ingest_s, 3),
        "other_sentence_vectors": other_mode,
        "other_ingest_passages_per_s": round(n / other_ingest_s, 2) if other_ingest_s else None,
        "other_ratio": round(raw_s / other_ingest_s, 3) if other_ingest_s else None,
    }
    standalone_s = ingest_s if mode == "standalone" else other_ingest_s
    # Standalone sentence vectors are a second model pass: compare with encoding both.
    result["standalone_ratio_to_passages_and_sentences"] = (
        round((raw_s + raw_sentences_s) / standalone_s, 3) if standalone_s else None
    )
    return result


# -- one size ----------------------------------------------------------------------------


def build_size(
    base: Settings, config: BenchConfig, embedder: Embedder, sample: NewsSample, size: int, log: Log
) -> tuple[Any, Path, int]:
    """The product's index for the first articles making ``size`` passages (reused when built)."""
    from retrieval.engine import AnswerEngine

    count = sample.prefix(size)
    folder = config.work_dir / (f"{size}-synthetic" if config.synthetic else str(size))
    settings = _settings_for(base, folder)
    articles_file = folder / "articles.jsonl"
    articles_file.write_text("".join(sample.lines[:count]), "utf-8")
    engine = AnswerEngine(settings.engine_config(), embedder=embedder)
    log(f"{size:,} passages: indexing {count:,} articles in {folder}")
    report = engine.ingest([articles_file])
    if not report.ok:
        raise RuntimeError(f"{report.failures[0].path}: {report.failures[0].reason}")
    return engine, folder, count


def bench_size(
    base: Settings, config: BenchConfig, embedder: Embedder, sample: NewsSample, size: int, log: Log
) -> dict[str, Any]:
    started = time.perf_counter()
    engine, folder, count = build_size(base, config, embedder, sample, size, log)
    build_s = time.perf_counter() - started
    index = engine.index
    manifest = index.manifest
    questions = make_questions(sample.articles[:count], config.warmup + config.questions)
    warmup, measured = questions[: config.warmup], questions[config.warmup :]
    real_rows: list[int] = []
    result: dict[str, Any] = {
        "size": size,
        "articles": manifest.articles,
        "passages": manifest.passages,
        "sentences": manifest.sentences,
        "dense_index": manifest.dense_kind,
        "index_bytes": engine.store.size_bytes(),
        "build_s": round(build_s, 1),
    }
    if isinstance(embedder, SyntheticFillEmbedder):
        # Whatever run built the index: a vector the embedding cache does not hold was synthetic.
        from retrieval.passages import passage_text

        live_passages = [p for p in range(len(index.passage_rows)) if index.is_live_passage(p)]
        passage_texts = [
            passage_text(index.article_of_passage(p), [index.sentence(r) for r in index.passage_sentences(p)])
            for p in live_passages
        ]
        sentence_rows = [r for r in range(len(index.sentence_rows)) if index.article_live[index.sentence_rows[r, 0]]]
        sentence_texts = [index.sentence(r).text for r in sentence_rows]
        cached = embedder.cached_vectors(passage_texts)
        real_rows = [p for p, text in zip(live_passages, passage_texts, strict=True) if text in cached]
        real_passages = len(cached)
        real_sentences = len(embedder.cached_vectors(sentence_texts))
        result["synthetic_passage_share"] = round(1 - real_passages / max(len(set(passage_texts)), 1), 3)
        result["synthetic_share"] = round(
            1 - (real_passages + real_sentences) / max(len(set(passage_texts)) + len(set(sentence_texts)), 1), 3
        )
    log(f"{size:,} passages: latency over {len(measured)} questions")
    result["latency"] = measure_latency(engine, measured, warmup)
    log(f"{size:,} passages: concurrent askers {list(config.askers)}")
    result["concurrency"] = measure_concurrency(engine, measured, config.askers)
    if config.ann:
        log(f"{size:,} passages: HNSW recall against exact search")
        queries = np.vstack([engine.embedder().encode_raw([q], "query") for q in measured[:200]])
        result["ann"] = measure_ann(index.passage_vectors, queries)
        if isinstance(embedder, SyntheticFillEmbedder) and MIN_REAL_FOR_RECALL <= len(real_rows) < len(live_passages):
            # Random vectors are HNSW's hardest case; recall on the model's own vectors alone.
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
    from retrieval.engine import AnswerEngine

    if not config.jsonl.exists():
        raise FileNotFoundError(f"{config.jsonl} is absent: give a JSONL of articles with --jsonl")
    config.work_dir.mkdir(parents=True, exist_ok=True)
    if embedder is None:
        embedder = AnswerEngine(base.engine_config()).embedder()
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
        "sizes": [],
    }
    for size in sizes:
        if size > available:
            log(f"{size:,} passages: skipped, {config.jsonl.name} holds only {available:,}")
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
        engine, _, count = build_size(base, config, embedder, sample, largest, log)
        questions = make_questions(
            sample.articles[:count], max(config.bot_askers) * config.bot_questions, seed=QUESTION_SEED + 1
        )
        report["bot"] = {"size": largest, "askers": run_bot_askers(engine, questions, config)}
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def run_bot_askers(engine: Any, questions: Sequence[str], config: BenchConfig) -> list[dict[str, Any]]:
    import gc

    from hoptac.loadtest import run_asker_benchmark

    gc.collect()
    gc.freeze()  # as `hoptac bot` does once the engine is loaded
    results = run_asker_benchmark(engine, questions, askers=config.bot_askers, per_asker=config.bot_questions)
    return [result.to_json() for result in results]


def machine() -> dict[str, Any]:
    import platform

    import torch

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages / 2**30, 1)
    except (ValueError, OSError):  # pragma: no cover
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    return info


# -- report ------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def format_report(report: dict[str, Any]) -> str:
    """Markdown tables of a ``run_bench`` report."""
    askers = " / ".join(str(c["askers"]) for c in report["sizes"][0]["concurrency"]) if report["sizes"] else ""
    lines = [
        "| passages | articles | ask p50 / p95 / p99 ms | floor p50 / p95 ms | p95 / floor | "
        f"q/s at {askers} | HNSW recall@10 | new article s | cold start s | peak RSS | index on disk |",
        "|---:|---:|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["sizes"]:
        lat = row["latency"]
        ask, floor = lat["ask_ms"], lat["floor_ms"]
        qps = " / ".join(f"{c['questions_per_s']:.1f}" for c in row["concurrency"])
        ann = f"{row['ann']['recall_at_10']:.3f}" if "ann" in row else "-"
        cold = row.get("cold_start", {})
        cold_s = f"{cold['model_and_index_s']:.2f}" if cold else "-"
        rss = f"{cold['peak_rss_mb']:,.0f} MB" if cold else "-"
        lines.append(
            f"| {row['passages']:,} | {row['articles']:,} | {ask['p50']:.1f} / {ask['p95']:.1f} / {ask['p99']:.1f} "
            f"| {floor['p50']:.1f} / {floor['p95']:.1f} | {lat['overhead_p95']:.2f} | {qps} | {ann} "
            f"| {row['incremental_ingest']['seconds']:.2f} | {cold_s} | {rss} | {_mb(row['index_bytes'])} |"
        )
    ingest = report.get("ingest")
    if ingest:
        lines += [
            "",
            f"Ingest with an empty cache (sentence vectors {ingest['sentence_vectors']}): "
            f"{ingest['ingest_passages_per_s']:.1f} passages/s against raw "
            f"`model.encode` {ingest['encode_passages_per_s']:.1f} passages/s on the same {ingest['passages']} "
            f"passages ({ingest['sentences']} sentences): ratio {ingest['ratio']:.2f}.",
        ]
        if ingest.get("other_ratio"):
            lines.append(
                f'With `sentence_vectors = "{ingest["other_sentence_vectors"]}"`: '
                f"{ingest['other_ingest_passages_per_s']:.1f} passages/s, ratio {ingest['other_ratio']:.2f}."
            )
        if ingest.get("standalone_ratio_to_passages_and_sentences"):
            lines.append(
                "Standalone sentence vectors are a second model pass; against raw `model.encode` of the "
                f"passages and their sentences: ratio {ingest['standalone_ratio_to_passages_and_sentences']:.2f}."
            )
    bot = report.get("bot")
    if bot:
        lines += [
            "",
            f"Bot through the fake Bot API server ({bot['size']:,} passages):",
            "",
            "| askers | answered | lost | p50 ms | p95 ms | p99 ms | q/s | worst event-loop lag ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in bot["askers"]:
            lines.append(
                f"| {row['askers']} | {row['answered']} | {row['lost']} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} "
                f"| {row['p99_ms']:.0f} | {row['throughput_qps']:.1f} | {row['loop_lag_max_ms']:.0f} |"
            )
        single = next((r for r in bot["askers"] if r["askers"] == 1), None)
        if single and single["p95_ms"]:
            for row in bot["askers"]:
                if row["askers"] > 1:
                    ratio = row["p95_ms"] / single["p95_ms"]
                    lines.append(f"\n{row['askers']} askers: p95 = {ratio:.1f}x one asker's.")
    if report.get("synthetic_vectors"):
        shares = ", ".join(
            f"{r['passages']:,}: {r.get('synthetic_share')} (passages {r.get('synthetic_passage_share')})"
            for r in report["sizes"]
        )
        lines += ["", f"Synthetic vectors (share of indexed texts not from the model, by size): {shares}."]
    for row in report["sizes"]:
        if "ann_real" in row:
            real = row["ann_real"]
            lines += [
                "",
                f"HNSW recall@10 on the {real['vectors']:,} real passage vectors of the {row['passages']:,} "
                f"index alone: {real['recall_at_10']:.3f} ({real['hnsw_ms']['p50']:.2f} ms a query, "
                f"exact {real['exact_ms']['p50']:.2f} ms).",
            ]
    for skipped in report.get("skipped", []):
        lines += ["", f"Skipped {skipped['size']:,} passages: the file holds {skipped['available_passages']:,}."]
    return "\n".join(lines)


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Latency (ask and floor, p50/p95) and peak memory against corpus size, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["sizes"]
    sizes = [r["passages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, style in (("ask_ms", "-o"), ("floor_ms", "--s")):
        for pct in ("p50", "p95"):
            left.plot(
                sizes,
                [r["latency"][key][pct] for r in rows],
                style,
                label=f"{'ask' if key == 'ask_ms' else 'floor'} {pct}",
            )
    left.set_xscale("log")
    left.set_xlabel("passages")
    left.set_ylabel("ms per question")
    left.set_title("Answer latency (one asker)")
    left.legend()
    left.grid(alpha=0.3)
    rss = [r.get("cold_start", {}).get("peak_rss_mb", float("nan")) for r in rows]
    right.plot(sizes, rss, "-o", label="peak RSS (fresh process)")
    right.plot(sizes, [r["index_bytes"] / 2**20 for r in rows], "--s", label="index on disk")
    right.set_xscale("log")
    right.set_xlabel("passages")
    right.set_ylabel("MB")
    right.set_title("Memory and disk")
    right.legend()
    right.grid(alpha=0.3)
    fig.suptitle(f"hoptac bench — {report['machine'].get('cpus')} CPU cores, {report['model']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
