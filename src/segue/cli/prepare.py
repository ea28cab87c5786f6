"""`segue prepare`: read playlist sources into a dataset folder."""

from __future__ import annotations

import argparse

from segue.cli.stats import print_statistics
from segue.data import PrepareOptions, TableColumns, prepare
from segue.data.tables import parse_duration

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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="files or folders to read")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder to create")
    parser.add_argument("--force", action="store_true", help="replace DIR if it exists")
    parser.add_argument("--min-count", type=int, default=5, help="keep tracks seen at least this often in training")
    parser.add_argument("--max-vocab", type=int, default=None, help="keep at most this many most frequent tracks")
    parser.add_argument("--valid-frac", type=float, default=0.1, help="share of playlists for validation")
    parser.add_argument("--test-frac", type=float, default=0.1, help="share of playlists for testing")
    parser.add_argument("--seed", type=int, default=0, help="seed of the playlist split")
    parser.add_argument("--workers", type=int, default=1, help="processes that parse files in parallel")
    parser.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="stop at the first invalid file or playlist, or skip it and count it",
    )
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar and statistics")

    tables = parser.add_argument_group("tables (CSV, TSV, Parquet)")
    tables.add_argument("--playlist-col", default="playlist_id", help="playlist id column (the user column of a log)")
    tables.add_argument("--track-col", default="track_uri", help="track id or URI column")
    tables.add_argument("--order-col", help="column of track positions; default: table order")
    tables.add_argument("--title-col", help="track title column")
    tables.add_argument("--artist-col", help="artist name column")
    tables.add_argument("--album-col", help="album name column")
    tables.add_argument("--duration-col", help="track duration column, in milliseconds")
    tables.add_argument(
        "--time-col", help="play time column (Unix seconds or ISO 8601): turns a listening log into sessions"
    )
    tables.add_argument(
        "--session-gap", default="30m", help="start a new session after a pause longer than this (s, m, h or d)"
    )
    parser.set_defaults(run=run)


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
        session_gap=parse_duration(args.session_gap),
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
