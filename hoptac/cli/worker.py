"""``hoptac worker``: the cluster's ingest service (:mod:`ingest_service.worker`) as a process."""

from __future__ import annotations

import argparse

from hoptac.cli.console import AddCommand, UserError, stopped_by_signals
from hoptac.settings import Settings


def add_commands(add: AddCommand) -> None:
    worker = add(
        "worker",
        help="make the articles stored in PostgreSQL searchable, job by job (needs HOPTAC_DATABASE_URL)",
        description="Claims ingest jobs from PostgreSQL, embeds their articles and writes them to the search "
        "engine (Milvus with HOPTAC_SEARCH_URL, else the local index via the corpus folder), one writer at a "
        "time; run as many as you like. A killed worker's jobs are taken over once its claim lapses. Stops "
        "cleanly on SIGTERM or Ctrl-C, giving back what it had not finished.",
    )
    worker.add_argument("--once", action="store_true", help="exit when nothing is left to claim")
    worker.add_argument("--batch-size", type=int, default=16, metavar="N", help="jobs claimed at a time (default: 16)")
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=300.0,
        metavar="S",
        help="how long a claim lasts: another worker takes a job over after this (default: 300)",
    )
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Work the ingest queue until SIGTERM/SIGINT, or with --once until it is empty."""
    import logging

    from bot.redact import protect_logs
    from hoptac.wiring import ingest_worker

    if settings.database_url is None:
        raise UserError("HOPTAC_DATABASE_URL is not set: workers take their jobs from PostgreSQL")
    if args.batch_size < 1 or args.lease_seconds <= 0:
        raise UserError("--batch-size and --lease-seconds must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    protect_logs(settings.database_url.get_secret_value())
    with (
        ingest_worker(settings, "worker", batch_size=args.batch_size, lease_s=args.lease_seconds) as worker,
        stopped_by_signals(worker.stop),
    ):
        worker.run(drain=args.once)
    return 0
