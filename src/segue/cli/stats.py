"""`segue stats`: describe a dataset folder."""

from __future__ import annotations

import argparse
import sys

import orjson

from segue.data import Dataset, dataset_statistics
from segue.errors import UserError

HELP = "print counts, lengths, top tracks and artists and OOV rates of a dataset"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("stats", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    parser.add_argument("dataset", metavar="DIR", help="dataset folder written by `segue prepare`")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--top", type=int, default=10, help="how many top tracks and artists to list (default: 10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    statistics = dataset_statistics(Dataset.load(args.dataset), top=args.top)
    if args.json:
        sys.stdout.write(orjson.dumps(statistics, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_statistics(statistics)
    return 0


def print_statistics(statistics: dict) -> None:
    print(f"playlists        {statistics['playlists']:,}")
    print(f"track rows       {statistics['track_rows']:,}")
    print(f"distinct tracks  {statistics['distinct_tracks']:,}")
    print(f"vocabulary       {statistics['vocabulary']:,} (without padding and OOV)")

    print("\nsplit       playlists        rows   OOV rate")
    for name, playlists in statistics["splits"].items():
        rows = statistics["split_rows"][name]
        print(f"{name:<10} {playlists:>10,} {rows:>11,} {statistics['oov_rate'][name]:>9.2%}")

    lengths = statistics["lengths"]
    percentiles = "  ".join(f"{name} {value:g}" for name, value in lengths["percentiles"].items())
    print(f"\nplaylist length  min {lengths['min']}  mean {lengths['mean']:g}  max {lengths['max']}  {percentiles}")
    for bucket, count in lengths["histogram"].items():
        print(f"  {bucket:>8} tracks {count:>10,}")

    print("\nmost frequent tracks")
    for track in statistics["top_tracks"]:
        title = track["name"] or track["uri"]
        print(
            f"  {track['count']:>8,}  {title} - {track['artist']}"
            if track["artist"]
            else f"  {track['count']:>8,}  {title}"
        )
    print("\nmost frequent artists")
    if not statistics["top_artists"]:
        print("  (no artist names in this dataset)")
    for artist in statistics["top_artists"]:
        print(f"  {artist['count']:>8,}  {artist['artist']} ({artist['tracks']:,} tracks)")

    dropped = statistics.get("dropped") or {}
    if dropped:
        print("\ndropped  " + "  ".join(f"{reason} {count:,}" for reason, count in dropped.items()))
