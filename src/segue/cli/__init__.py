"""The `segue` command: one entry point with a subcommand per stage of the work."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from tqdm.contrib.logging import logging_redirect_tqdm

from segue import __version__
from segue.cli import app, compare, evaluate, export, feedback, prepare, recommend, stats, train
from segue.errors import UserError

COMMANDS = (prepare, stats, export, train, evaluate, compare, recommend, feedback, app)

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


class _CommandFormatter(logging.Formatter):
    """Prefix log lines with the command, and warnings and errors with their level."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{self.prefix}: {record.levelname.lower()}: {message}"
        return f"{self.prefix}: {message}"


def _stop_on_sigterm(signum, frame) -> None:
    # Raising unwinds like Ctrl-C, so that half-written output is removed on the way out.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_CommandFormatter(f"segue {args.command}"))
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO, handlers=[handler])
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    else:
        previous_handler = None

    try:
        with logging_redirect_tqdm():
            status = args.run(args)
        # Flush here, not at exit, so that a reader that went away is handled below.
        sys.stdout.flush()
        return status
    except UserError as error:
        print(f"segue {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"segue {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (as `segue stats | head` does): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
