"""The `segue` command: one entry point with a subcommand per stage of the work."""

from __future__ import annotations

import argparse
import logging
import sys

from segue import __version__
from segue.cli import prepare, stats
from segue.errors import UserError

COMMANDS = (prepare, stats)

# Exit statuses: 2 for errors the user can fix (as argparse uses for bad options).
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segue",
        description="Recommend the next song for a playlist with memory-augmented neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"segue {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except UserError as error:
        print(f"segue {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"segue {args.command}: interrupted", file=sys.stderr)
        return 130
