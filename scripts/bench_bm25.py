"""BM25 time per question, exhaustive against pruned (retrieval/local/pruned.py), on a built index.

    .venv/bin/python scripts/bench_bm25.py --postings DIR [--questions 200] [--k 50] [--repeat 3]

DIR is an index version folder (``<data_dir>/index/versions/<version>``, e.g. the one
``hoptac bench --sizes 100000 --synthetic-vectors`` builds) or any folder with its
``postings_*`` and ``vocabulary_*`` files. A folder without ``blocks_*`` files (written
before them) gets them computed into ``--blocks-dir`` first, as the build computes them.
Questions come from news-vi as the bench makes them (a third titles, a third titles without
diacritics, a third ten words of a body), with the search's related place names; each is
asked as the search asks it (the top k and the scores of 50 other passages, standing for the
dense candidates), both ways; the two answers are compared (they must be identical, to the
bit), and the medians, p95s and the share of postings decoded are printed as JSON (and how
many questions had a passage left out at the k-th score, which the search then answers
exhaustively).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from retrieval.answering.lexical_query import LexicalQuery, exhaustive_search
from retrieval.answering.search import RELATED_PLACE_WEIGHT
from retrieval.local.blocks import load_blocks, write_blocks
from retrieval.local.postings import Postings
from retrieval.local.pruned import PrunedLexicalIndex
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.text import fold

NEWS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news-vi" / "baomoi-2017.jsonl.gz"


def with_blocks(postings: Postings, blocks_dir: Path) -> float:
    """Give ``postings`` its blocks, computed into ``blocks_dir`` when the folder has none;
    returns the seconds it took (0 when they were there)."""
    if postings.blocks is not None:
        return 0.0
    blocks_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_blocks(postings, blocks_dir)
    seconds = time.perf_counter() - start
    postings.blocks = load_blocks(blocks_dir, postings.tf.dtype)
    return seconds


def questions(analyzer: Analyzer, count: int, seed: int = 7) -> list[tuple[str, LexicalQuery]]:
    rng = random.Random(seed)
    with gzip.open(NEWS, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in itertools.islice(handle, 20_000)]
    asked = []
    for i, record in enumerate(rng.sample(records, count)):
        if i % 3 == 0:
            asked.append(record["title"])
        elif i % 3 == 1:
            asked.append(fold(record["title"]))
        else:
            words = (record.get("body") or record["title"]).split()
            start = rng.randrange(max(len(words) - 10, 1))
            asked.append(" ".join(words[start : start + 10]))
    out = []
    for question in asked:
        related = analyzer.related_place_tokens(question)
        extra = ((related, RELATED_PLACE_WEIGHT),) if related else ()
        out.append((question, LexicalQuery(analyzer.query_tokens(question), extra)))
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--postings", type=Path, required=True)
    parser.add_argument("--blocks-dir", type=Path, default=Path("/tmp/hoptac-bench-bm25-blocks"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each question, the fastest kept")
    args = parser.parse_args()
    if not NEWS.is_file():
        sys.exit(f"news-vi not found at {NEWS}")
    postings = Postings.load(args.postings)
    blocks_seconds = with_blocks(postings, args.blocks_dir)
    index = PrunedLexicalIndex([postings])
    if not index.pruning():
        sys.exit("the pruned BM25 is unavailable (extension not compiled?)")
    asked = questions(Analyzer(), args.questions)
    rng = np.random.default_rng(3)
    candidates = [sorted(rng.choice(postings.documents, 50, replace=False).tolist()) for _ in asked]
    times: dict[str, list[float]] = {"exhaustive": [], "pruned": []}
    read: list[float] = []
    read_total = [0, 0]
    tied = 0
    for (_, query), rows in zip(asked, candidates, strict=True):  # warm the page cache and the length norms
        exhaustive_search(index, query, args.k, None, rows)
        index.search(query, args.k, None, rows)
    for (question, query), rows in zip(asked, candidates, strict=True):
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            start = time.perf_counter()
            expected = exhaustive_search(index, query, args.k, None, rows)
            middle = time.perf_counter()
            found = index.search(query, args.k, None, rows)
            end = time.perf_counter()
            best["exhaustive"] = min(best.get("exhaustive", 1e9), middle - start)
            best["pruned"] = min(best.get("pruned", 1e9), end - middle)
        if [x.tobytes() for x in found] != [x.tobytes() for x in expected]:
            sys.exit(f"pruned answer differs from the exhaustive one for {question!r}")
        for way, seconds in best.items():
            times[way].append(seconds * 1000)
        top = index.top(query, args.k)
        tied += top.tied
        if top.postings_total:
            read.append(top.postings_read / top.postings_total)
            read_total[0] += top.postings_read
            read_total[1] += top.postings_total
    ratio = [e / p for e, p in zip(times["exhaustive"], times["pruned"], strict=True)]
    report = {
        "passages": postings.documents,
        "questions": len(asked),
        "k": args.k,
        "blocks": postings.blocks.count if postings.blocks is not None else 0,
        "blocks_seconds": round(blocks_seconds, 1),
        **{
            f"{way}_ms": {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
            for way, ms in times.items()
        },
        "speedup_per_question": {"p50": round(percentile(ratio, 50), 2), "p5": round(percentile(ratio, 5), 2)},
        "postings_read_share": {
            "all": round(read_total[0] / max(read_total[1], 1), 3),
            "mean": round(statistics.fmean(read), 3),
            "p50": round(percentile(read, 50), 3),
            "p95": round(percentile(read, 95), 3),
        },
        "tied_at_k_answered_exhaustively": tied,
        "identical": True,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    postings.close()


if __name__ == "__main__":
    main()
