"""Time `hoptac bench`'s "one new article" several times over an index the bench built.

    .venv/bin/python scripts/time_one_new_article.py DATA_DIR/bench/100000-synthetic --runs 5

Each run is the bench's own measurement (:func:`measure.bench.ingest.measure_incremental_ingest`):
the held-out article under a fresh id ingested into a hard-linked copy of the folder's corpus
and index, its text embedded by the model. One run is noisy on 2 shared cores; the median
of several says more; ``--profile`` adds where the last run spent its CPU seconds (the
process's own, not the time it waited for a core), by step of the ingest. Development tool:
the folder is left as it was.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
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
    parser.add_argument("--profile", action="store_true", help="CPU seconds by step, in the last run")
    args = parser.parse_args()
    settings = Settings()
    line = load_sample(settings.shared_data_dir / NEWS_JSONL, 1, lambda _message: None).held_out_lines[0]
    embedder = LocalEngine(settings.engine_config()).embedder()
    seconds = []
    profile = cProfile.Profile(time.process_time) if args.profile else None
    for run in range(args.runs):
        if profile is not None and run == args.runs - 1:
            profile.enable()
        result = measure_incremental_ingest(settings, args.folder, embedder, line)
        seconds.append(result["seconds"])
        print(result, flush=True)
    if profile is not None:
        profile.disable()
        _print_steps(pstats.Stats(profile))
    print(f"one new article: median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s, {args.runs} runs")
    return 0


#: The steps of an ingest (functions of either corpus-state design), printed when profiled.
STEPS = (
    "ingest", "import_files", "_scan_corpus", "_scan_for_ingest", "folder_stamps", "read_state", "write_state",
    "_write_corpus_state", "_journal", "remove_stale_backups", "save_all", "extend_index", "embed_articles",
    "save", "report_against_index",  # save: of the index version
)  # fmt: skip


def _print_steps(stats: pstats.Stats) -> None:
    totals: dict[str, float] = {}
    for (path, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name in STEPS and "retrieval" in path and (name != "save" or path.endswith("index.py")):
            totals[name] = totals.get(name, 0.0) + row[3]  # cumulative
    for name in STEPS:
        if name in totals:
            print(f"  {name:<22} {totals[name]:7.3f} CPU s")


if __name__ == "__main__":
    raise SystemExit(main())
