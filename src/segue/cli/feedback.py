"""`segue feedback export`: the feedback log as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segue.cli.recommend import add_feedback_option
from segue.errors import UserError
from segue.recommending.feedback import CSV_COLUMNS, FeedbackLog, default_feedback_path

HELP = "work with the feedback log of recommendation sessions"
EXPORT_HELP = f"write the feedback log as CSV with the columns {', '.join(CSV_COLUMNS)}; feedback is +1 or -1"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("feedback", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help=EXPORT_HELP, description=EXPORT_HELP[0].upper() + EXPORT_HELP[1:] + ".")
    export.add_argument("--out", metavar="FILE", help="CSV file to write (default: standard output)")
    export.add_argument("--session", metavar="ID", help="only this session's feedback")
    add_feedback_option(export)
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    path = Path(args.feedback) if args.feedback else default_feedback_path()
    if not path.is_file():
        raise UserError(f"{path}: feedback log not found; `segue recommend` creates it with the first session")
    out = Path(args.out) if args.out is not None else None
    if out is not None and out.is_dir():
        raise UserError(f"--out {out}: is a folder; name a CSV file")
    if out is not None and not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} not found; create it first")

    log = FeedbackLog(path)
    try:
        if args.session is not None and log.session(args.session) is None:
            raise UserError(f"session {args.session!r} not found in {path}")
        if out is None:
            log.export_csv(sys.stdout, args.session)
            return 0

        # Write beside the target and rename, so that a failed export leaves no half-written file.
        temporary = out.with_name(out.name + ".tmp")
        try:
            with temporary.open("w", encoding="utf-8", newline="") as stream:
                rows = log.export_csv(stream, args.session)
            temporary.replace(out)
        except OSError as error:
            raise UserError(f"--out {out}: cannot write the CSV file: {error}") from None
        finally:
            temporary.unlink(missing_ok=True)
    finally:
        log.close()
    print(f"wrote {rows} feedback rows to {out}", file=sys.stderr)
    return 0
