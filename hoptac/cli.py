"""The ``hoptac`` command line: ask, ingest, worker, reindex, status, eval, bench, model, db, bot, run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from hoptac import __version__
from hoptac.settings import Settings

EXAMPLE_QUESTIONS = (
    "Hai tỉnh sẽ phối hợp xây dựng những dự án nào?",
    "cau Dong Viet o dau",
    "Which projects will the two provinces coordinate on?",
    "Giá vàng hôm nay bao nhiêu?",
)


DB_EPILOG = """\
actions:
  upgrade          apply the schema migrations that ship with hoptac (nothing when up to date)
  import-embedded  copy an embedded deployment's state (DATA_DIR/hoptac.sqlite3: subscriptions,
                   announced articles and the notification outbox, feedback, feed state, answer
                   pages, processed updates) into PostgreSQL, in one transaction: a failure leaves
                   PostgreSQL as it was; the SQLite file is only read. Stop the bot first. Refused
                   when the schema is not current (run 'db upgrade') or when PostgreSQL already
                   holds state (unless --merge: both kept, nothing announced twice). Prints what
                   was copied, one line per kind of state. The corpus folder's articles are
                   copied into PostgreSQL's articles too (nothing announced again), each queued
                   for `hoptac worker`; the index is not copied (the workers build it).
"""


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 1."""


# -- output helpers ----------------------------------------------------------------------


class _Progress:
    """tqdm bars on a terminal, nothing otherwise (logs and pipes stay clean)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bars: dict[str, Any] = {}
        self._enabled = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage.startswith("model: "):
            print(stage.removeprefix("model: "), file=self._stream)
            return
        if not self._enabled or total <= 0:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            label = {"embed": "embedding", "index": "indexing", "ingest": "importing"}.get(stage, stage)
            bar = self._bars[stage] = tqdm(total=total, desc=label, file=self._stream, leave=False)
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


@contextmanager
def _progress() -> Iterator[_Progress]:
    progress = _Progress(sys.stderr)
    try:
        yield progress
    finally:
        progress.close()


def _date(published: str | None) -> str:
    if not published:
        return "không rõ ngày"
    return datetime.fromisoformat(published).strftime("%d/%m/%Y")


def _print_answer(answer: Any) -> None:
    if not answer.found:
        print(answer.answer)
        return
    if answer.confidence == "low":
        from retrieval.answering.confidence import LOW_CONFIDENCE_MESSAGE

        print(LOW_CONFIDENCE_MESSAGE)
    for number, citation in enumerate(answer.citations, start=1):
        print(f"[{number}] {citation.sentence}")
        if citation.unit_notes:
            print(f"    ({'; '.join(citation.unit_notes)})")
        origin = ", ".join(x for x in (citation.source, _date(citation.published)) if x)
        print(f"    — {citation.title} ({origin})" + (f" {citation.url}" if citation.url else ""))


def _json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


# -- commands ----------------------------------------------------------------------------


def _open_engine(settings: Settings) -> Any:
    from hoptac.wiring import open_engine

    with _progress() as progress:
        return open_engine(settings, progress)


def _questions(source: str) -> Iterator[str]:
    stream = sys.stdin if source == "-" else _open_text(Path(source))
    with stream:
        for line in stream:
            if line.strip():
                yield line.rstrip("\n")


def _open_text(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.answering.search import check_question
    from retrieval.engine import QuestionError

    if (args.question is None) == (args.questions is None):
        raise UserError("give one QUESTION or --questions FILE (use - for standard input)")
    if args.question is not None:
        check_question(args.question)  # a bad question fails before the model loads
    if args.k is not None and args.k < 1:
        raise UserError("-k must be at least 1")
    engine = _open_engine(settings)
    questions = [args.question] if args.question is not None else _questions(args.questions)
    failed = 0
    for question in questions:
        try:
            answer = engine.ask(question, limit=args.k)
        except QuestionError as exc:
            failed += 1
            if args.json:
                _json({"question": question, "error": str(exc)})
            else:
                print(f"hoptac: error: {exc}", file=sys.stderr)
            continue
        if args.json:
            _json(answer.to_json())
        else:
            if args.questions is not None:
                print(f"? {answer.question}")
            _print_answer(answer)
            if args.questions is not None:
                print()
    return 1 if failed else 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import engine_for_changes

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UserError(f"no such file or folder: {missing[0]}")
    if settings.database_url is not None:
        return _ingest_into_database(args, settings)
    if args.no_wait:
        raise UserError("--no-wait needs HOPTAC_DATABASE_URL (without it, ingest updates the index itself)")
    engine = engine_for_changes(settings)
    with _progress() as progress:
        report = engine.ingest([Path(p) for p in args.paths], progress)
    counts = {kind: sum(1 for c in report.changes.values() if c == kind) for kind in ("new", "updated", "unchanged")}
    if args.json:
        _json(
            {
                **counts,
                "articles": report.changes,
                "failures": [{"path": f.path, "reason": f.reason} for f in report.failures],
            }
        )
    else:
        for failure in report.failures:
            print(f"hoptac: error: {failure.path}: {failure.reason}", file=sys.stderr)
        print(f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged, "
              f"{len(report.failures)} failed")  # fmt: skip
    return 0 if report.ok else 1


@contextmanager
def _stopped_by_signals(stop: Any) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (a threading.Event) instead of interrupting: the work in
    hand is finished or given back, then the loop ends."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _ingest_into_database(args: argparse.Namespace, settings: Settings) -> int:
    """PostgreSQL holds the articles; unless --no-wait, work the queue until this batch is searchable."""
    from hoptac.db_ingest import store_articles
    from hoptac.wiring import open_ingest_worker
    from storage.postgres.articles import ArticleStore
    from storage.postgres.database import Database
    from storage.postgres.ingest_jobs import IngestQueue

    assert settings.database_url is not None
    db = Database(settings.database_url.get_secret_value())
    try:
        stored = store_articles(ArticleStore(db), [Path(p) for p in args.paths])
        queue = IngestQueue(db)
        for path, reason in stored.failures:
            print(f"hoptac: error: {path}: {reason}", file=sys.stderr)
        counts = {kind: stored.count(kind) for kind in ("new", "updated", "unchanged")}
        if not args.json:
            summary = f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged"
            print(f"{summary}, {len(stored.failures)} failed (stored in PostgreSQL, batch {stored.batch})", flush=True)
        progress = queue.batch_progress(stored.batch)
        interrupted = False
        if progress.total and not args.no_wait:
            worker = open_ingest_worker(settings, db, "ingest")
            shown: list[tuple[int, int]] = []

            def show() -> None:
                now = queue.batch_progress(stored.batch)
                if not args.json and (not shown or shown[-1] != (now.done, now.failed)):
                    failed = f", {now.failed} failed" if now.failed else ""
                    print(f"{now.done}/{now.total} searchable{failed}", flush=True)
                shown.append((now.done, now.failed))

            try:
                with _stopped_by_signals(worker.stop):
                    worker.run(until=lambda: queue.batch_progress(stored.batch).settled, after_round=show)
            finally:
                worker.target.close()
            interrupted = worker.stop.is_set()
            progress = queue.batch_progress(stored.batch)
        errors = queue.errors(stored.batch)
        for article_id, error in errors:
            print(f"hoptac: error: {article_id}: not made searchable: {error}", file=sys.stderr)
    finally:
        db.close()
    if args.json:
        _json({**counts, "articles": stored.changes, "batch": stored.batch,
               "failures": [{"path": p, "reason": r} for p, r in stored.failures],
               "jobs": progress.total, "searchable": progress.done, "failed_jobs": progress.failed})  # fmt: skip
    elif args.no_wait and progress.total:
        print(f"{progress.total} queued: `hoptac worker` makes them searchable")
    if interrupted:
        print("hoptac: interrupted; the articles are stored and `hoptac worker` makes the rest searchable",
              file=sys.stderr)  # fmt: skip
        return 130
    return 0 if not stored.failures and not progress.failed else 1


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Work the ingest queue (see hoptac.worker) until SIGTERM/SIGINT, or with --once until it is empty."""
    import logging

    from bot.redact import protect_logs
    from hoptac.wiring import open_ingest_worker
    from storage.postgres.database import Database

    if settings.database_url is None:
        raise UserError("HOPTAC_DATABASE_URL is not set: workers take their jobs from PostgreSQL")
    if args.batch_size < 1 or args.lease_seconds <= 0:
        raise UserError("--batch-size and --lease-seconds must be positive")
    url = settings.database_url.get_secret_value()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    protect_logs(url)
    db = Database(url)
    try:
        worker = open_ingest_worker(settings, db, "worker", batch_size=args.batch_size, lease_s=args.lease_seconds)
        try:
            with _stopped_by_signals(worker.stop):
                worker.run(drain=args.once)
        finally:
            worker.target.close()
    finally:
        db.close()
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import engine_for_changes

    engine = engine_for_changes(settings)
    with _progress() as progress:
        status = engine.reindex(progress)
    if args.json:
        _json(status.to_json())
    else:
        print(f"indexed {status.articles} articles, {status.passages} passages, {status.sentences} sentences "
              f"({status.index_kind}, {status.model})")  # fmt: skip
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import engine_for_changes
    from retrieval.local.engine import LocalEngine

    engine = engine_for_changes(settings)
    inner = getattr(engine, "inner", engine)  # a DatabaseEngine answers with the engine it wraps
    check = inner.index.integrity if isinstance(inner, LocalEngine) else None
    if check is not None:
        check.wait()  # the large files' checksums, read in the background: a definite answer
    status = engine.status()
    info = status.to_json()
    info["corpus_dir"] = str(settings.corpus_dir)
    info["data_dir"] = str(settings.data_dir)
    if args.json:
        _json(info)
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0 if status.integrity == "verified" else 1


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.evaluation import evaluate, format_report

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    try:
        with _progress() as progress:
            report = evaluate(
                path,
                settings.engine_config(),
                distractors=args.distractors,
                limit=args.limit,
                progress=progress,
                sweep=args.sweep,
                search_url=settings.search_url,
                search_prefix=settings.search_collection_prefix,
            )
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not SQuAD v1.1 JSON ({type(exc).__name__}: {exc})") from exc
    if args.json:
        _json(report)
    else:
        print(format_report(report))
    return 0


def _int_list(value: str) -> list[int]:
    try:
        numbers = [int(x.replace("_", "").replace("k", "000").replace("M", "000000")) for x in value.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None
    if not numbers or min(numbers) < 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return numbers


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.bench import BenchConfig, format_report, plot_report, run_bench

    if not args.jsonl.is_file():
        raise UserError(f"no such file: {args.jsonl} (give a JSONL of articles with --jsonl)")
    if min(args.sizes) < 1 or args.questions < 1:
        raise UserError("--sizes and --questions must be at least 1")
    config = BenchConfig(
        jsonl=args.jsonl,
        sizes=args.sizes,
        work_dir=args.work_dir or settings.data_dir / "bench",
        questions=args.questions,
        askers=tuple(args.askers),
        bot_askers=tuple(a for a in args.bot_askers if a > 0),
        bot_questions=args.bot_questions,
        ingest_sample=args.ingest_sample,
        synthetic=args.synthetic_vectors,
        cold_start=not args.no_cold_start,
        ann=not args.no_ann,
        search_url=settings.search_url,
    )

    def log(message: str) -> None:
        print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)

    report = run_bench(settings, config, log)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
        (args.out / "bench.md").write_text(format_report(report) + "\n", "utf-8")
        if report["sizes"]:
            plot_report(report, args.out / "bench.png")
    if args.json:
        _json(report)
    else:
        print(format_report(report))
    return 0


def cmd_loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.replica_loadtest import format_replica_results, run_replica_benchmark

    try:
        results = run_replica_benchmark(settings, args.replicas, args.askers, args.per_asker)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        _json([r.to_json() for r in results])
    else:
        print(format_replica_results(results))
    return 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.embedding.embedder import Embedder

    embedder = Embedder.load(settings.embedding_model, settings.models_dir, None, notify=print)
    print(f"model {embedder.model_id} ready ({embedder.dimension} dimensions)")
    return 0


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from hoptac.wiring import run_bot

    run_bot(settings)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """``hoptac db upgrade``: the PostgreSQL schema, by the migrations that ship with hoptac;
    ``hoptac db import-embedded``: the SQLite state copied into it."""
    from hoptac.wiring import import_embedded_state, upgrade_database

    if settings.database_url is None:
        if args.action == "import-embedded":
            raise UserError("HOPTAC_DATABASE_URL is not set: it names the PostgreSQL database to import into")
        raise UserError("HOPTAC_DATABASE_URL is not set: the state is in SQLite (DATA_DIR/hoptac.sqlite3), "
                        "which needs no upgrade")  # fmt: skip
    if args.action == "import-embedded":
        report = import_embedded_state(settings, args.sqlite, merge=args.merge, dry_run=args.dry_run)
        print("\n".join(report.lines()))
        if settings.search_url is not None and not args.dry_run:
            # The search collections, built from the articles now in PostgreSQL (what `hoptac reindex` does).
            from hoptac.wiring import engine_for_changes

            with _progress() as progress:
                status = engine_for_changes(settings).reindex(progress)
            print(f"Milvus: {status.articles} articles, {status.passages} passages, {status.sentences} sentences "
                  f"searchable ({settings.search_collection_prefix}, generation {status.version})")  # fmt: skip
        return 0
    if args.merge or args.dry_run or args.sqlite is not None:
        raise UserError("--merge, --dry-run and --sqlite go with 'db import-embedded' only")
    before, after = upgrade_database(settings)
    if before == after:
        print(f"database schema already up to date (revision {after})")
    else:
        print(f"database schema upgraded from {before or 'empty'} to revision {after}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The main job: the bot when a token is configured, otherwise a demonstration."""
    if settings.telegram_token is not None:
        return cmd_bot(args, settings)
    engine = _open_engine(settings)
    status = engine.status()
    print(f"Index: {status.articles} articles, {status.passages} passages ({settings.data_dir}).")
    for question in EXAMPLE_QUESTIONS:
        print(f"\n? {question}")
        _print_answer(engine.ask(question))
    print(
        "\nNo Telegram token configured (HOPTAC_TELEGRAM_TOKEN), so the bot was not started. "
        'Ask your own questions with: hoptac ask "..."'
    )
    return 0


# -- parser ------------------------------------------------------------------------------


def _add_folder_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--corpus-dir", type=Path, default=default, help="article folder (default: setting corpus_dir)")
    parser.add_argument(
        "--data-dir", type=Path, default=default, help="index/cache/model folder (default: setting data_dir)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hoptac",
        description="Grounded answers about Vietnamese regional-cooperation news, quoting the articles.",
    )
    parser.add_argument("--version", action="version", version=f"hoptac {__version__}")
    _add_folder_options(parser, default=None)
    # The same options after the command too ("hoptac ask --data-dir D ..."); given there, they win.
    folders = argparse.ArgumentParser(add_help=False)
    _add_folder_options(folders, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser(
        "ask", parents=[folders], help="answer a question (or a file of questions) with cited sentences"
    )
    ask.add_argument("question", nargs="?", help="the question, in Vietnamese (with or without diacritics) or English")
    ask.add_argument("--questions", metavar="FILE", help="one question a line; - reads standard input")
    ask.add_argument("-k", type=int, default=None, metavar="N", help="at most N cited sentences (default 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.set_defaults(func=cmd_ask)

    ingest = sub.add_parser(
        "ingest",
        parents=[folders],
        help="add articles (.md, crawled .txt, .html, .jsonl[.gz]) and update the index",
        description="Imports the files and makes their articles searchable. Without HOPTAC_DATABASE_URL they go "
        "into the corpus folder and the index is updated at once. With it, PostgreSQL stores them (the system "
        "of record) with one ingest job each, and this command works the queue like `hoptac worker` until "
        "they are searchable, printing how many are (unless --no-wait).",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    ingest.add_argument("--json", action="store_true")
    ingest.add_argument(
        "--no-wait",
        action="store_true",
        help="with HOPTAC_DATABASE_URL: store the articles and queue them, leave the indexing to `hoptac worker`",
    )
    ingest.set_defaults(func=cmd_ingest)

    worker = sub.add_parser(
        "worker",
        parents=[folders],
        help="make the articles stored in PostgreSQL searchable, job by job (needs HOPTAC_DATABASE_URL)",
        description="Claims ingest jobs from PostgreSQL, embeds their articles and writes them to the search "
        "engine (Milvus with HOPTAC_SEARCH_URL, else the local index via the corpus folder), one writer at a "
        "time; run as many as you like. A killed worker's jobs are taken over once its claim lapses. Stops "
        "cleanly on SIGTERM or Ctrl-C, giving back what it had not finished.",
    )
    worker.add_argument("--once", action="store_true", help="exit when nothing is left to claim")
    worker.add_argument("--batch-size", type=int, default=16, metavar="N", help="jobs claimed at a time (default 16)")
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=300.0,
        metavar="S",
        help="how long a claim lasts: another worker takes a job over after this (default 300)",
    )
    worker.set_defaults(func=cmd_worker)

    reindex = sub.add_parser(
        "reindex",
        parents=[folders],
        help="rebuild the index from the corpus folder (from PostgreSQL with HOPTAC_DATABASE_URL; into Milvus "
        "with HOPTAC_SEARCH_URL) and swap it in atomically",
    )
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(func=cmd_reindex)

    status = sub.add_parser(
        "status",
        parents=[folders],
        help="articles, passages, sentences, model, index age and size; whether its files are intact",
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    evaluate = sub.add_parser("eval", parents=[folders], help="retrieval and answer quality on a SQuAD-format file")
    evaluate.add_argument("file", metavar="FILE", help="SQuAD v1.1 JSON, e.g. ../shared/data/xquad-vi/xquad.vi.json")
    evaluate.add_argument("--distractors", type=int, default=0, metavar="N",
                          help="mix in N distractor passages from ../shared/data/news-vi")  # fmt: skip
    evaluate.add_argument("--limit", type=int, default=None, metavar="N", help="ask only the first N questions")
    evaluate.add_argument("--sweep", action="store_true", help="also report the hybrid at dense weights 0.0-1.0")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)

    from retrieval.evaluation import NEWS_JSONL

    bench = sub.add_parser(
        "bench",
        parents=[folders],
        help="latency, throughput, ingest, cold start and memory at several corpus sizes",
        description="Builds the product's index from news articles at each size (kept under the work folder, "
        "so a second run embeds nothing new) and reports latency against its floor, concurrent throughput, "
        "HNSW recall, incremental ingest, ingest against raw model.encode, cold start, peak memory and the "
        "bot's latency with concurrent askers. Embedding is the slow part: about 18-33 passages (with their "
        "sentences) a second on 2 cores, depending on the host.",
    )
    bench.add_argument(
        "--jsonl", type=Path, default=NEWS_JSONL, help=f"articles, one JSON a line (default {NEWS_JSONL})"
    )
    bench.add_argument(
        "--sizes",
        type=_int_list,
        default=[10_000, 100_000],
        metavar="N,N",
        help="corpus sizes in passages (default 10000,100000; 10k and 1M are understood)",
    )
    bench.add_argument("--questions", type=int, default=300, metavar="N", help="timed questions per size (default 300)")
    bench.add_argument(
        "--askers",
        type=_int_list,
        default=[1, 4, 16],
        metavar="N,N",
        help="concurrent askers for throughput (default 1,4,16)",
    )
    bench.add_argument(
        "--bot-askers",
        type=_int_list,
        default=[1, 16],
        metavar="N,N",
        help="concurrent users through the fake Bot API server on the largest size (default 1,16; 0 skips)",
    )
    bench.add_argument("--bot-questions", type=int, default=10, metavar="N", help="questions per bot user (default 10)")
    bench.add_argument(
        "--ingest-sample",
        type=int,
        default=256,
        metavar="N",
        help="passages embedded from scratch for the ingest/encode ratio (default 256)",
    )
    bench.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the indexes are kept between runs (default DATA_DIR/bench)",
    )
    bench.add_argument(
        "--synthetic-vectors",
        action="store_true",
        help=(
            "random vectors for passages the embedding cache lacks (for latency and memory; "
            "HNSW recall is also reported on the real vectors alone)"
        ),
    )
    bench.add_argument("--no-cold-start", action="store_true", help="skip the fresh-process measurement")
    bench.add_argument("--no-ann", action="store_true", help="skip the HNSW recall measurement")
    bench.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="also write bench.json, bench.md, bench.png"
    )
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(func=cmd_bench)

    loadtest = sub.add_parser(
        "loadtest",
        parents=[folders],
        help="questions/s through N bot replicas against one (webhook mode, needs HOPTAC_DATABASE_URL)",
        description="Starts N `hoptac bot` processes in webhook mode on HOPTAC_DATABASE_URL, this corpus folder "
        "and data folder (build the index first: `hoptac reindex`), behind a round-robin load balancer on "
        "127.0.0.1, with a fake Telegram Bot API server POSTing the questions of simulated users to the "
        "webhook; reports the questions answered per second for each N. The replicas share this machine's "
        "cores: on one machine this measures the cost of the replica machinery and that nothing is lost, "
        "not scale-out (docs/replicas.md).",
    )
    loadtest.add_argument(
        "--replicas", type=_int_list, default=[1, 2], metavar="N,N", help="replica counts to run (default 1,2)"
    )
    loadtest.add_argument("--askers", type=int, default=16, metavar="K", help="simultaneous users (default 16)")
    loadtest.add_argument("--per-asker", type=int, default=10, metavar="N", help="questions per user (default 10)")
    loadtest.add_argument("--json", action="store_true", help="print the results as JSON")
    loadtest.set_defaults(func=cmd_loadtest)

    model = sub.add_parser("model", parents=[folders], help="build (once) and check the embedding model")
    model.add_argument("action", choices=["build"])
    model.set_defaults(func=cmd_model)

    database = sub.add_parser(
        "db",
        parents=[folders],
        help="'db upgrade': create or update the PostgreSQL schema; 'db import-embedded': copy the SQLite "
        "state and the corpus folder into it (both need HOPTAC_DATABASE_URL)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=DB_EPILOG,
    )
    database.add_argument("action", choices=["upgrade", "import-embedded"])
    database.add_argument(
        "--merge",
        action="store_true",
        help="import-embedded: keep state already in PostgreSQL and add the SQLite state to it",
    )
    database.add_argument(
        "--dry-run",
        action="store_true",
        help="import-embedded: copy and count inside the transaction, then roll it back",
    )
    database.add_argument(
        "--sqlite",
        type=Path,
        default=None,
        metavar="FILE",
        help="import-embedded: the SQLite state file (default: DATA_DIR/hoptac.sqlite3)",
    )
    database.set_defaults(func=cmd_db)

    bot = sub.add_parser("bot", parents=[folders], help="run the Telegram bot (needs HOPTAC_TELEGRAM_TOKEN)")
    bot.set_defaults(func=cmd_bot)

    run = sub.add_parser(
        "run", parents=[folders], help="the main job: the bot if a token is set, else index and demo answers"
    )
    run.set_defaults(func=cmd_run)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.corpus_dir is not None:
        overrides["corpus_dir"] = args.corpus_dir
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(f"invalid setting {where} (HOPTAC_{where.upper()}): {first['msg']}") from None


def _known_errors() -> tuple[type[BaseException], ...]:
    from retrieval.embedding.embedder import ModelLoadError
    from retrieval.embedding.offline_model import ModelBuildError
    from retrieval.engine import CorpusError, IndexError_, QuestionError
    from retrieval.milvus.index import MilvusIndexError
    from storage.errors import StateStoreError

    errors: list[type[BaseException]] = [
        UserError, QuestionError, ModelLoadError, CorpusError, IndexError_, ModelBuildError, StateStoreError,
        MilvusIndexError,
    ]  # fmt: skip
    try:
        from bot.config import BotConfigError

        errors.append(BotConfigError)
    except ImportError:  # pragma: no cover - bot package incomplete
        pass
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        return func(args, _settings(args))
    except KeyboardInterrupt:
        print("hoptac: interrupted; the previous index is still being served", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hoptac status | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except _known_errors() as exc:
        print(f"hoptac: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
