"""Ingest speed: one new article into a built index, and bulk ingest against raw ``model.encode``.

**Incremental ingest**: a held-out article, given a fresh id and title so its text is really
embedded, is ingested into a hard-linked copy of a size's corpus and index (the original is
never touched); the seconds it takes and the passages it adds.

**Ingest throughput**, once per run: held-out articles making about ``--ingest-sample``
passages are ingested with an empty embedding cache, and the same passages and their
sentences are encoded with raw ``model.encode``; the ratio says how much the product adds to
the model's own time. The ingest is repeated with sentence vectors made the other way (the
setting ``sentence_vectors``: ``span`` pooling or ``standalone``), since standalone sentence
vectors are a second model pass.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hoptac.settings import Settings
from measure.bench.corpus import import_lines
from measure.bench.workspace import open_engine, timed_ingest
from retrieval.embedding.embedder import Embedder, EmbeddingCache
from retrieval.local.corpus_state import STATE_FILE
from retrieval.models import Article


def _link_unless_updated(source: str, target: str) -> None:
    """Hard-link an index file (written once, never changed), but copy the corpus state, which an
    ingest updates in place: a link would let the copy's ingest change the original's."""
    if Path(source).name.startswith(STATE_FILE):
        shutil.copy2(source, target)
    else:
        os.link(source, target)


def measure_incremental_ingest(base: Settings, folder: Path, embedder: Embedder, line: str) -> dict[str, Any]:
    """Ingest one new article into a hard-linked copy of ``folder``'s corpus and index."""
    copy = folder.parent / f".{folder.name}-ingest-{os.getpid()}"
    shutil.rmtree(copy, ignore_errors=True)
    try:
        shutil.copytree(folder / "corpus", copy / "corpus", copy_function=os.link)
        shutil.copytree(folder / "data" / "index", copy / "data" / "index", copy_function=_link_unless_updated)
        engine = open_engine(base, copy, embedder)
        passages_before = engine.index.manifest.passages
        record = json.loads(line)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        record["id"] = f"bench-new-{stamp}"
        record["title"] = f"{record.get('title', '')} ({stamp})"  # new text: really embedded
        article_file = copy / "new-article.jsonl"
        article_file.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
        seconds, report = timed_ingest(engine, article_file)
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


def measure_ingest_throughput(
    base: Settings, embedder: Embedder, held_out: Sequence[str], passages: int, work_dir: Path
) -> dict[str, Any] | None:
    """Ingest held-out articles with an empty cache, and raw ``model.encode`` on the same passages."""
    from retrieval.preparation import segment_articles

    pairs = import_lines(held_out)
    chosen: list[tuple[str, Article]] = []
    total = 0
    for line, article in pairs:
        chosen.append((line, article))
        _, ps = segment_articles([article])
        total += len(ps)
        if total >= passages:
            break
    if not chosen:
        return None
    per_article, segs = segment_articles([a for _, a in chosen])
    passage_texts = [p.text for p in segs]
    sentence_texts = [s.text for ss in per_article for s in ss]
    folder = work_dir / f".ingest-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        fresh = embedder.with_cache(EmbeddingCache(folder / "cache.sqlite3"))
        engine = open_engine(base, folder, fresh)
        sample = folder / "sample.jsonl"
        sample.write_text("".join(line for line, _ in chosen), "utf-8")
        embedder.encode_raw(passage_texts[:8])  # warm the model
        started = time.perf_counter()
        embedder.encode_raw(passage_texts)
        raw_s = time.perf_counter() - started
        started = time.perf_counter()
        embedder.encode_raw(sentence_texts)
        raw_sentences_s = time.perf_counter() - started
        ingest_s, report = timed_ingest(engine, sample)
        if not report.ok:
            raise RuntimeError(f"ingest failed: {report.failures[0]}")
        # The same ingest with sentence vectors made the other way (setting sentence_vectors).
        mode = getattr(embedder, "sentence_vectors", "span")
        other_mode = "standalone" if mode == "span" else "span"
        other_ingest_s = None
        if isinstance(embedder, Embedder):
            other = embedder.with_cache(EmbeddingCache(folder / "other-cache.sqlite3"), other_mode)
            other_engine = open_engine(base, folder / "other", other, sentence_vectors=other_mode)
            other_ingest_s, other_report = timed_ingest(other_engine, sample)
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
