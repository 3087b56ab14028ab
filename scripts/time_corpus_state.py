"""Time the corpus-state work of an ingest of one new article at the 1M benchmark's folder size.

    .venv/bin/python scripts/time_corpus_state.py --files 142714

Fills a temporary corpus folder with ``--files`` small article files and records them in a
corpus state (``retrieval/local/corpus_state.py``), as a build would; then times, several
times, what an ingest of one named new article does outside the model and the index: the
state's look-ups (version, journal, holders of the id, the records of the files looked at),
the journal entry, the look for backups of killed ingests (those of journaled files), the
article written, and its row. Then, for comparison, the walk that ``reindex``, the watcher
and an ingest without files do (every file stat'ed, every row read, the folder's names swept
for backups). Development tool: nothing is kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.articles.corpus import article_path
from retrieval.articles.intake import remove_stale_backups
from retrieval.local.corpus_state import CorpusStateStore, FileRecord, file_digest, folder_stamps, stamp_of


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=142_714)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corpus-state-") as tmp:
        folder, root = Path(tmp) / "corpus", Path(tmp) / "index"
        folder.mkdir()
        seen_ns = time.time_ns()
        records = {}
        for i in range(args.files):
            name = f"{i:07d}.md"
            data = f"---\nid: '{i:07d}'\ntitle: Bài {i}\n---\n\nNội dung bài {i}.\n".encode()
            (folder / name).write_bytes(data)
            records[name] = FileRecord(stamp_of((folder / name).stat()), f"{i:07d}", file_digest(data), seen_ns)
        store = CorpusStateStore(root)
        started = time.perf_counter()
        store.record("v0", records, whole=True)
        print(f"{args.files:,} files recorded in {time.perf_counter() - started:.2f} s "
              f"({sum(p.stat().st_size for p in root.glob('corpus-state.sqlite3*')) / 1e6:.1f} MB)")  # fmt: skip
        named, walks = [], []
        for run in range(args.runs):
            article_id = f"new-{run}"
            path = article_path(folder, article_id)
            started = time.perf_counter()
            store.version()
            pending = store.pending()
            names = {n for files in store.holders([article_id]).values() for n in files} | {path.name} | set(pending)
            store.records(names)
            store.holders([])
            store.add_pending([path.name])
            remove_stale_backups(folder, pending)  # those of the journal, as an ingest of named files
            path.write_bytes(f"---\nid: {article_id}\ntitle: Bài mới\n---\n\nNội dung.\n".encode())  # the article
            written = FileRecord(stamp_of(path.stat()), article_id, file_digest(path.read_bytes()), time.time_ns())
            store.record(f"v{run + 1}", {path.name: written}, settled=[path.name])
            named.append(time.perf_counter() - started)
            started = time.perf_counter()
            folder_stamps(folder)
            store.everything(f"v{run + 1}")
            remove_stale_backups(folder)
            walks.append(time.perf_counter() - started)
        store.close()
        print(f"one named article: median {statistics.median(named) * 1000:.1f} ms (min {min(named) * 1000:.1f})")
        print(f"a walk of the folder: median {statistics.median(walks):.2f} s (min {min(walks):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
