"""``hoptac db upgrade`` and ``hoptac db import-embedded``: the PostgreSQL schema, and an embedded
deployment's state moved into it."""

from __future__ import annotations

import argparse
from pathlib import Path

from hoptac.cli.console import AddCommand, UserError, progress
from hoptac.settings import Settings

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


def add_commands(add: AddCommand) -> None:
    database = add(
        "db",
        help="'db upgrade': create or update the PostgreSQL schema; 'db import-embedded': copy the SQLite "
        "state and the corpus folder into it (both need HOPTAC_DATABASE_URL)",
        description="The PostgreSQL database of HOPTAC_DATABASE_URL: its schema, and an embedded deployment's\n"
        "state moved into it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=DB_EPILOG,
    )
    database.add_argument("action", choices=["upgrade", "import-embedded"], help="what to do (see the actions below)")
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

            with progress() as bars:
                status = engine_for_changes(settings).reindex(bars)
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
