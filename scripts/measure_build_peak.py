"""Peak memory of a whole index build, in a fresh process, at a benchmark size.

    .venv/bin/python scripts/measure_build_peak.py --passages 1000000 --work-dir /tmp/build-peak

Writes the benchmark's articles for ``--passages`` passages (``hoptac bench``'s corpus, with
pseudo-articles beyond the news file) to ``WORK_DIR/articles.jsonl``, then builds the
product's index from it in a new interpreter (``python -m measure.bench.build``: the
engine's own ingest into an empty folder, vectors as ``hoptac bench --synthetic-vectors``
takes them: the cache's, random ones for the rest) and prints its report: seconds, the
resident set before, the peak (``VmHWM``) and the highest resident set in each step of the
build. ``hoptac bench`` builds each size the same way and reports the same figures.
Development tool; the work folder is emptied first.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from hoptac.settings import Settings
from measure.bench.build import build_in_fresh_process
from measure.bench.corpus import load_sample
from measure.bench.workspace import settings_for
from measure.commands import NEWS_JSONL, NEWS_JSONL_DEFAULT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, required=True, help="emptied, then holds the built index")
    parser.add_argument("--jsonl", type=Path, default=None, help=f"news articles (default: {NEWS_JSONL_DEFAULT})")
    args = parser.parse_args()
    base = Settings()
    jsonl = args.jsonl if args.jsonl is not None else base.shared_data_dir / NEWS_JSONL
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    settings_for(base, args.work_dir)
    sample = load_sample(jsonl, args.passages, lambda message: None)
    articles_file = args.work_dir / "articles.jsonl"
    sample.write_lines(articles_file, sample.prefix(args.passages))
    del sample
    print(json.dumps(build_in_fresh_process(base.data_dir, args.work_dir, articles_file, synthetic=True)))


if __name__ == "__main__":
    main()
