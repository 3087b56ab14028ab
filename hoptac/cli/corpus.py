"""``hoptac ingest``, ``reindex`` and ``status``: the articles and the index built from them."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hoptac.cli.console import AddCommand, UserError, print_error, print_json, progress, stopped_by_signals
from hoptac.settings import Settings
from retrieval.engine import IngestFailure, IngestReport


def add_commands(add: AddCommand) -> None:
    ingest = add(
        "ingest",
        help="add articles (.md, crawled .txt, .html, .jsonl[.gz]) and update the index",
        description="Imports the files and makes their articles searchable; a missing, unreadable or too large "
        "(HOPTAC_INGEST_MAX_BYTES) argument is reported as failed and the others go in. Without "
        "HOPTAC_DATABASE_URL they go into the corpus folder and the index is updated at once, or nothing "
        "changes. With it, PostgreSQL stores them (the system "
        "of record) with one ingest job each, and this command works the queue like `hoptac worker` until "
        "they are searchable, printing how many are (unless --no-wait).",
    )
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders or http(s) URLs of article pages (fetched like /add)"
    )
    ingest.add_argument("--json", action="store_true", help="print what was imported as one JSON object")
    ingest.add_argument(
        "--no-wait",
        action="store_true",
        help="with HOPTAC_DATABASE_URL: store the articles and queue them, leave the indexing to `hoptac worker`",
    )
    ingest.set_defaults(func=cmd_ingest)

    reindex = add(
        "reindex",
        help="rebuild the index from the corpus folder (from PostgreSQL with HOPTAC_DATABASE_URL; into Milvus "
        "with HOPTAC_SEARCH_URL) and swap it in atomically",
    )
    reindex.add_argument("--json", action="store_true", help="print the new index's status as one JSON object")
    reindex.set_defaults(func=cmd_reindex)

    status = add(
        "status", help="articles, passages, sentences, model, index age and size; whether its files are intact"
    )
    status.add_argument("--json", action="store_true", help="print the status as one JSON object")
    status.set_defaults(func=cmd_status)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    with fetched_pages(args.paths, settings) as pages:
        args.paths = pages.paths
        return _ingest(args, settings, pages)


def _ingest(args: argparse.Namespace, settings: Settings, pages: FetchedPages) -> int:
    from hoptac.wiring import engine_for_changes

    if not any(Path(p).exists() for p in args.paths):  # nothing to read: no engine to open
        failures = [(p, "no such file or folder") for p in args.paths] + list(pages.failures)
        for path, reason in failures:
            if args.json:  # the summary below names them on standard error only without --json
                print_error(f"{path}: {reason}")
        return _print_ingest_report(args, IngestReport(failures=[IngestFailure(p, r) for p, r in failures]))
    if settings.database_url is not None:
        return _ingest_into_database(args, settings, pages)
    if args.no_wait:
        raise UserError("--no-wait needs HOPTAC_DATABASE_URL (without it, ingest updates the index itself)")
    engine = engine_for_changes(settings)
    with progress() as bars:
        report = engine.ingest([Path(p) for p in args.paths], bars)
    report.failures = [IngestFailure(url, reason) for url, reason in pages.reported(report.failures)]
    return _print_ingest_report(args, report)


def _print_ingest_report(args: argparse.Namespace, report: IngestReport) -> int:
    """The report as JSON, or each failure on standard error and a summary line; the exit code."""
    counts = {kind: sum(1 for c in report.changes.values() if c == kind) for kind in ("new", "updated", "unchanged")}
    if args.json:
        print_json(
            {
                **counts,
                "articles": report.changes,
                "failures": [{"path": f.path, "reason": f.reason} for f in report.failures],
            }
        )
    else:
        for failure in report.failures:
            print_error(f"{failure.path}: {failure.reason}")
        print(f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged, "
              f"{len(report.failures)} failed")  # fmt: skip
    return 0 if report.ok else 1


def _ingest_into_database(args: argparse.Namespace, settings: Settings, pages: FetchedPages) -> int:
    """PostgreSQL holds the articles; unless --no-wait, work the queue until this batch is searchable."""
    from hoptac.wiring import database_ingest

    with database_ingest(settings) as ingest:
        stored = ingest.store([Path(p) for p in args.paths])
        stored.failures = pages.reported(stored.failures)
        for path, reason in stored.failures:
            print_error(f"{path}: {reason}")
        counts = {kind: stored.count(kind) for kind in ("new", "updated", "unchanged")}
        if not args.json:
            summary = f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged"
            print(f"{summary}, {len(stored.failures)} failed (stored in PostgreSQL, batch {stored.batch})", flush=True)
        batch = ingest.progress(stored.batch)
        interrupted = False
        if batch.total and not args.no_wait:
            worker = ingest.open_worker()
            shown: list[tuple[int, int]] = []

            def show() -> None:
                now = ingest.progress(stored.batch)
                if not args.json and (not shown or shown[-1] != (now.done, now.failed)):
                    failed = f", {now.failed} failed" if now.failed else ""
                    print(f"{now.done}/{now.total} searchable{failed}", flush=True)
                shown.append((now.done, now.failed))

            try:
                with stopped_by_signals(worker.stop):
                    worker.run(until=lambda: ingest.progress(stored.batch).settled, after_round=show)
            finally:
                worker.target.close()
            interrupted = worker.stop.is_set()
            batch = ingest.progress(stored.batch)
        for article_id, error in ingest.errors(stored.batch):
            print_error(f"{article_id}: not made searchable: {error}")
    if args.json:
        print_json({**counts, "articles": stored.changes, "batch": stored.batch,
                    "failures": [{"path": p, "reason": r} for p, r in stored.failures],
                    "jobs": batch.total, "searchable": batch.done, "failed_jobs": batch.failed})  # fmt: skip
    elif args.no_wait and batch.total:
        print(f"{batch.total} queued: `hoptac worker` makes them searchable")
    if interrupted:
        print("hoptac: interrupted; the articles are stored and `hoptac worker` makes the rest searchable",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0 if not stored.failures and not batch.failed else 1


@dataclass
class FetchedPages:
    """The ``hoptac ingest`` arguments with every http(s) URL replaced by the article of its
    page, fetched and extracted as ``/add`` does and written as an article file."""

    paths: list[str]  # the other arguments, then the articles' files
    failures: list[tuple[str, str]]  # (URL, reason) of the pages that could not be fetched
    origins: dict[str, str]  # article file -> the URL it came from

    def reported(self, failures: Iterable[Any]) -> list[tuple[str, str]]:
        """The fetch failures, then ``failures`` (``(path, reason)`` or ``.path``/``.reason``),
        a page's article file named by its URL."""
        pairs = [(f.path, f.reason) if hasattr(f, "reason") else tuple(f) for f in failures]
        return [*self.failures, *((self.origins.get(path, path), reason) for path, reason in pairs)]


def is_url(argument: str) -> bool:
    return argument.lower().startswith(("http://", "https://"))


@contextmanager
def fetched_pages(arguments: list[str], settings: Settings) -> Iterator[FetchedPages]:
    """The arguments as :class:`FetchedPages`; the articles' files are deleted on leaving.
    A page that cannot be fetched or read is a failure of its own (one line each)."""
    import asyncio

    from news_pipeline.fetch import FetchError
    from news_pipeline.uploads import UploadRefused, fetch_page
    from retrieval.articles.corpus import ArticleFormatError, article_path, article_to_markdown

    urls = [a for a in arguments if is_url(a)]
    pages = FetchedPages([a for a in arguments if not is_url(a)], [], {})
    if not urls:
        yield pages
        return

    async def fetch_all() -> list[Any]:
        return [await _fetched(url) for url in urls]

    async def _fetched(url: str) -> Any:
        try:
            return await fetch_page(
                url,
                timeout_s=settings.feed_timeout_seconds,
                max_bytes=settings.fetch_max_bytes,
                allowed_hosts=settings.fetch_allowed_hosts,
            )
        except (FetchError, UploadRefused) as exc:
            return exc

    incoming = Path(settings.data_dir) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pages-", dir=incoming) as staging:
        for url, article in zip(urls, asyncio.run(fetch_all()), strict=True):
            if isinstance(article, Exception):
                pages.failures.append((url, str(article)))
                continue
            path = article_path(Path(staging), article.id)
            try:
                path.write_text(article_to_markdown(article), encoding="utf-8")
            except ArticleFormatError as exc:
                pages.failures.append((url, exc.reason))
                continue
            pages.paths.append(str(path))
            pages.origins[str(path)] = url
        yield pages


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import engine_for_changes

    engine = engine_for_changes(settings)
    with progress() as bars:
        status = engine.reindex(bars)
    if args.json:
        print_json(status.to_json())
    else:
        print(f"indexed {status.articles} articles, {status.passages} passages, {status.sentences} sentences "
              f"({status.index_kind}, {status.model})")  # fmt: skip
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import engine_for_changes

    engine = engine_for_changes(settings)
    status = engine.status(verify=True)  # every checksum read: a definite answer
    info = status.to_json()
    info["corpus_dir"] = str(settings.corpus_dir)
    info["data_dir"] = str(settings.data_dir)
    if args.json:
        print_json(info)
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0 if status.integrity == "verified" else 1
