"""Time `hoptac bench`'s "one new article" several times over an index the bench built.

    .venv/bin/python scripts/time_one_new_article.py DATA_DIR/bench/100000-synthetic --runs 5

Each run is the bench's own measurement (:func:`measure.bench.ingest.measure_incremental_ingest`):
the held-out article under a fresh id ingested into a hard-linked copy of the folder's corpus
and index, its text embedded by the model. One run is noisy on 2 shared cores; the median
of several says more. Development tool: the folder is left as it was.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hoptac.settings import Settings
from measure.bench.corpus import load_sample
from measure.bench.ingest import measure_incremental_ingest
from measure.commands import NEWS_JSONL
from retrieval.local.engine import LocalEngine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a size's folder under the bench's work folder")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    line = load_sample(settings.shared_data_dir / NEWS_JSONL, 1, lambda _message: None).held_out_lines[0]
    embedder = LocalEngine(settings.engine_config()).embedder()
    seconds = []
    for _ in range(args.runs):
        result = measure_incremental_ingest(settings, args.folder, embedder, line)
        seconds.append(result["seconds"])
        print(result, flush=True)
    print(f"one new article: median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s, {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
