"""``hoptac bench``, ``hoptac eval`` and ``hoptac loadtest``, added to the ``hoptac`` command line
through the ``hoptac.commands`` entry points (``pyproject.toml``): each ``add_*`` function is
one, called with the ``add`` of :mod:`hoptac.cli`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hoptac.cli.console import AddCommand, UserError, print_json, progress
from hoptac.settings import Settings

#: The news articles in the shared data folder (``HOPTAC_SHARED_DATA_DIR``): ``hoptac bench``'s
#: corpus and ``hoptac eval``'s distractors; shown in help as the folder's setting, whichever it is.
NEWS_JSONL = Path("news-vi") / "baomoi-2017.jsonl.gz"
NEWS_JSONL_DEFAULT = f"SHARED_DATA_DIR/{NEWS_JSONL.as_posix()}"


def _int_list(value: str) -> list[int]:
    try:
        numbers = [int(x.replace("_", "").replace("k", "000").replace("M", "000000")) for x in value.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None
    if not numbers or min(numbers) < 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return numbers


def _news_jsonl(args: argparse.Namespace, settings: Settings) -> Path:
    """``--jsonl``, else the news articles in the shared data folder."""
    return Path(args.jsonl) if args.jsonl is not None else settings.shared_data_dir / NEWS_JSONL


# -- eval --------------------------------------------------------------------------------


def add_eval(add: AddCommand) -> None:
    evaluate = add("eval", help="retrieval and answer quality on a SQuAD-format file")
    evaluate.add_argument("file", metavar="FILE", help="SQuAD v1.1 JSON, e.g. ../shared/data/xquad-vi/xquad.vi.json")
    evaluate.add_argument(
        "--distractors",
        type=int,
        default=0,
        metavar="N",
        help="mix in N distractor passages from --jsonl's articles (default: 0)",
    )
    evaluate.add_argument(
        "--jsonl",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"the distractors' news articles, one JSON a line (default: {NEWS_JSONL_DEFAULT})",
    )
    evaluate.add_argument(
        "--limit", type=int, default=None, metavar="N", help="ask only the first N questions (default: all)"
    )
    evaluate.add_argument("--sweep", action="store_true", help="also report the hybrid at dense weights 0.0-1.0")
    evaluate.add_argument(
        "--split",
        action="append",
        default=[],
        metavar="NAME",
        help="only the file's entries of this split (qa-train files: train, dev, test); repeatable (default: all)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from measure.evaluation import NoQuestions, evaluate, format_report

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    try:
        with progress() as bars:
            report = evaluate(
                path,
                settings.engine_config(),
                distractors=args.distractors,
                distractors_jsonl=_news_jsonl(args, settings),
                limit=args.limit,
                progress=bars,
                sweep=args.sweep,
                search_url=settings.search_url,
                search_prefix=settings.search_collection_prefix,
                splits=tuple(args.split),
            )
    except (FileNotFoundError, NoQuestions) as exc:
        raise UserError(str(exc)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not SQuAD v1.1 JSON ({type(exc).__name__}: {exc})") from exc
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


# -- bench -------------------------------------------------------------------------------


def add_bench(add: AddCommand) -> None:
    bench = add(
        "bench",
        help="latency, throughput, ingest, cold start and memory at several corpus sizes",
        description="Builds the product's index from news articles at each size (kept under the work folder, "
        "so a second run embeds nothing new) and reports latency against its floor, concurrent throughput, "
        "HNSW recall, incremental ingest, ingest against raw model.encode, cold start, peak memory and the "
        "bot's latency with concurrent askers. Embedding is the slow part: about 18-33 passages (with their "
        "sentences) a second on 2 cores, depending on the host.",
    )
    bench.add_argument(
        "--jsonl",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"news articles, one JSON a line (default: {NEWS_JSONL_DEFAULT})",
    )
    bench.add_argument(
        "--sizes",
        type=_int_list,
        default=[10_000, 100_000],
        metavar="N,N",
        help="corpus sizes in passages; 10k and 1M are understood (default: 10000,100000)",
    )
    bench.add_argument(
        "--questions", type=int, default=300, metavar="N", help="timed questions per size (default: 300)"
    )
    bench.add_argument(
        "--askers",
        type=_int_list,
        default=[1, 4, 16],
        metavar="N,N",
        help="concurrent askers for throughput (default: 1,4,16)",
    )
    bench.add_argument(
        "--bot-askers",
        type=_int_list,
        default=[1, 16],
        metavar="N,N",
        help="concurrent users through the fake Bot API server on the largest size; 0 skips (default: 1,16)",
    )
    bench.add_argument(
        "--bot-questions", type=int, default=10, metavar="N", help="questions per bot user (default: 10)"
    )
    bench.add_argument(
        "--ingest-sample",
        type=int,
        default=256,
        metavar="N",
        help="passages embedded from scratch for the ingest/encode ratio (default: 256)",
    )
    bench.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the indexes are kept between runs (default: DATA_DIR/bench)",
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


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from measure.bench import BenchConfig, format_report, plot_report, run_bench

    jsonl = _news_jsonl(args, settings)
    if not jsonl.is_file():
        raise UserError(f"no such file: {jsonl} (give a JSONL of articles with --jsonl)")
    if min(args.sizes) < 1 or args.questions < 1:
        raise UserError("--sizes and --questions must be at least 1")
    config = BenchConfig(
        jsonl=jsonl,
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
        print_json(report)
    else:
        print(format_report(report))
    return 0


# -- loadtest ----------------------------------------------------------------------------


def add_loadtest(add: AddCommand) -> None:
    loadtest = add(
        "loadtest",
        help="questions/s through N bot replicas against one (webhook mode, needs HOPTAC_DATABASE_URL)",
        description="Starts N `hoptac bot` processes in webhook mode on HOPTAC_DATABASE_URL, this corpus folder "
        "and data folder (build the index first: `hoptac reindex`), behind a round-robin load balancer on "
        "127.0.0.1, with a fake Telegram Bot API server POSTing the questions of simulated users to the "
        "webhook; reports the questions answered per second for each N. The replicas share this machine's "
        "cores: on one machine this measures the cost of the replica machinery and that nothing is lost, "
        "not scale-out (docs/replicas.md).",
    )
    loadtest.add_argument(
        "--replicas", type=_int_list, default=[1, 2], metavar="N,N", help="replica counts to run (default: 1,2)"
    )
    loadtest.add_argument("--askers", type=int, default=16, metavar="K", help="simultaneous users (default: 16)")
    loadtest.add_argument("--per-asker", type=int, default=10, metavar="N", help="questions per user (default: 10)")
    loadtest.add_argument(
        "--soak-minutes",
        type=float,
        metavar="M",
        help="a soak run instead: one replica count (--replicas 3), questions at a steady --rate for M minutes; "
        "reports per minute the questions asked, answered, failed and lost, p50/p95 and each replica's memory",
    )
    loadtest.add_argument(
        "--rate", type=float, default=2.0, metavar="Q", help="soak: questions asked per second (default: 2)"
    )
    loadtest.add_argument(
        "--window-seconds", type=float, default=60.0, metavar="S", help="soak: length of a window (default: 60)"
    )
    loadtest.add_argument("--plot", type=Path, metavar="PNG", help="soak: also draw memory, latency and errors here")
    loadtest.add_argument("--json", action="store_true", help="print the results as JSON")
    loadtest.set_defaults(func=cmd_loadtest)


def cmd_loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from measure.replica_loadtest import format_replica_results, run_replica_benchmark

    if args.soak_minutes is not None:
        return _soak(args, settings)
    if args.plot is not None:
        raise UserError("--plot draws a soak run: give --soak-minutes too")
    try:
        results = run_replica_benchmark(settings, args.replicas, args.askers, args.per_asker)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print_json([r.to_json() for r in results])
    else:
        print(format_replica_results(results))
    return 0


def _soak(args: argparse.Namespace, settings: Settings) -> int:
    from measure.soak import format_soak, plot_soak, run_soak

    if len(args.replicas) != 1:
        raise UserError(f"a soak runs one replica count, e.g. --replicas 3 (not {args.replicas})")

    def show(window: Any) -> None:
        print(
            f"window {window.window + 1}: {window.asked} asked, {window.answered} answered, {window.failed} failed, "
            f"{window.lost} lost, p95 {window.p95_ms:.0f} ms, memory {[round(mb) for mb in window.rss_mb]} MiB",
            file=sys.stderr,
        )

    try:
        result = run_soak(
            settings,
            args.replicas[0],
            args.soak_minutes,
            args.rate,
            window_s=args.window_seconds,
            progress=show,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.plot is not None:
        plot_soak(result, args.plot)
    if args.json:
        print_json(result.to_json())
    else:
        print(format_soak(result))
    return 0 if result.answered == result.asked else 1


# -- train-selector ----------------------------------------------------------------------


def add_train_selector(add: AddCommand) -> None:
    train = add(
        "train-selector",
        help="train the answer selector on SHARED_DATA_DIR/qa-train (about an hour on 2 cores; "
        "see docs/answer-selector.md)",
    )
    train.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="where the weights go (default: DATA_DIR/selector)"
    )
    train.add_argument("--epochs", type=int, default=1, help="passes over the training questions (default: 1)")
    train.add_argument("--split", type=int, default=6, help="the first retrained layer of 12 (default: 6)")
    train.add_argument("--max-minutes", type=float, default=100.0, help="stop training after this long (default: 100)")
    train.add_argument("--seed", type=int, default=13, help="random seed (default: 13)")
    train.add_argument(
        "--limit", type=int, default=None, metavar="N", help="only the first N training paragraphs (a quick try)"
    )
    train.add_argument("--install", action="store_true", help="also replace the shipped selector with the result")
    train.set_defaults(func=cmd_train_selector)


def cmd_train_selector(args: argparse.Namespace, settings: Settings) -> int:
    import shutil

    from measure.selector_training import TrainingPlan, train
    from retrieval.embedding.answer_selector import CARD_FILE, SHIPPED, WEIGHTS_FILE
    from retrieval.local.engine import LocalEngine

    data = settings.shared_data_dir / "qa-train"
    if not data.is_dir():
        raise UserError(f"{data} is absent: the selector trains on the qa-train data (set HOPTAC_SHARED_DATA_DIR)")
    out = args.out or settings.data_dir / "selector"
    plan = TrainingPlan(split=args.split, epochs=args.epochs, seed=args.seed, max_minutes=args.max_minutes)
    embedder = LocalEngine(settings.engine_config()).embedder()
    limit = args.limit
    train(embedder, data, out, plan, lambda m: print(m, flush=True), limit, None if limit is None else limit // 4)
    if args.install:
        SHIPPED.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS_FILE, CARD_FILE):
            shutil.copyfile(out / name, SHIPPED / name)
        print(f"installed in {SHIPPED}")
    return 0
