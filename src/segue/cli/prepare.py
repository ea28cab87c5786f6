"""`segue prepare`: read playlist sources into a dataset folder."""

from __future__ import annotations

import argparse

from segue.cli.stats import print_statistics
from segue.data import PrepareOptions, TableColumns, prepare
from segue.data.tables import parse_duration
from segue.errors import UserError

HELP = "read MPD slices, the challenge set or playlist tables into a dataset folder"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "prepare",
        help=HELP,
        description=(
            "Read MPD slice files (mpd.slice.*.json), the RecSys Challenge 2018 challenge_set.json, "
            "or CSV/TSV/Parquet tables of playlists or listening logs, and write a dataset folder: "
            "track sequences as CSR arrays, a vocabulary built from the training split, a SQLite "
            "catalog and dataset.json."
        ),
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="files or folders to read")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to create")
    parser.add_argument("--force", action="store_true", help="replace DIR if it is an earlier dataset folder")
    parser.add_argument(
        "--min-count", type=int, default=5, help="keep tracks seen at least this often in training (default: 5)"
    )
    parser.add_argument(
        "--max-vocab", type=int, help="keep at most this many of the most frequent tracks (default: no limit)"
    )
    parser.add_argument(
        "--valid-frac", type=float, default=0.1, help="share of playlists for validation (default: 0.1)"
    )
    parser.add_argument("--test-frac", type=float, default=0.1, help="share of playlists for testing (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the playlist split (default: 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes that parse files in parallel (default: 1)")
    parser.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="stop at the first invalid file, playlist or row, or skip and count each (default: raise)",
    )
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar, statistics and information lines")

    tables = parser.add_argument_group("tables (CSV, TSV, Parquet)")
    tables.add_argument(
        "--playlist-col",
        default="playlist_id",
        help="playlist id column, or a log's user column (default: playlist_id)",
    )
    tables.add_argument("--track-col", default="track_uri", help="track id or URI column (default: track_uri)")
    tables.add_argument("--order-col", help="column of track positions (default: none, so table order)")
    tables.add_argument("--title-col", help="track title column (default: none)")
    tables.add_argument("--artist-col", help="artist name column (default: none)")
    tables.add_argument("--album-col", help="album name column (default: none)")
    tables.add_argument("--duration-col", help="track duration column, in milliseconds (default: none)")
    tables.add_argument(
        "--time-col",
        help="play time column (Unix time or ISO 8601); cuts each user's plays into sessions (default: none)",
    )
    tables.add_argument("--time-unit", choices=("s", "ms"), default="s", help="unit of numeric play times (default: s)")
    tables.add_argument(
        "--session-gap",
        default="30m",
        help="start a new session after a longer pause: a number with unit s, m, h or d; "
        "a bare number is seconds (default: 30m)",
    )
    parser.set_defaults(run=run)


def _session_gap(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except UserError as error:
        raise UserError(f"--session-gap: {error}") from None
    if seconds <= 0:
        raise UserError(f"--session-gap must be positive, got {text!r}")
    return seconds


def run(args: argparse.Namespace) -> int:
    columns = TableColumns(
        playlist=args.playlist_col,
        track=args.track_col,
        order=args.order_col,
        title=args.title_col,
        artist=args.artist_col,
        album=args.album_col,
        duration=args.duration_col,
        time=args.time_col,
        time_unit=args.time_unit,
        session_gap=_session_gap(args.session_gap),
    )
    options = PrepareOptions(
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        valid_frac=args.valid_frac,
        test_frac=args.test_frac,
        seed=args.seed,
        workers=args.workers,
        on_error=args.on_error,
        columns=columns,
    )
    dataset = prepare(args.sources, args.out, options, force=args.force, progress=not args.quiet)
    if not args.quiet:
        print(f"wrote {dataset.path}")
        print_statistics(dataset.info["statistics"])
    return 0
