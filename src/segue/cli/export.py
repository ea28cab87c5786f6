"""`segue export`: write a dataset folder in another library's format."""

from __future__ import annotations

import argparse

from segue.data.export import FORMATS, MIN_LENGTH, export_recbole

HELP = "write a dataset as RecBole atomic files, to compare with RecBole's sequential models"

DESCRIPTION = f"""\
Write a dataset folder as RecBole atomic files and a RecBole config, evaluated leave-one-out
like `segue train --holdout last`: in each playlist the last track is the test target and the
second-last the validation target.

DIR/NAME/NAME.inter has one row per track of every playlist outside the challenge split with
at least {MIN_LENGTH} tracks: session_id (the playlist's row in the dataset), item_id (the
track's index) and timestamp (its position in the playlist). DIR/NAME/NAME.item has each
track's title and artist, and DIR/NAME.yaml the RecBole config.

Tracks outside the vocabulary are kept, under their catalog index, so every playlist keeps all
its positions and both tools have the same targets. Segue counts such a target as a miss, while
RecBole builds its vocabulary from all rows and may rank it. docs/recbole.md explains how to run
RecBole on the export and compare the results.
"""


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "export", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", metavar="DATASET", help="dataset folder written by `segue prepare`")
    parser.add_argument("--format", required=True, choices=FORMATS, help="output format: recbole")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to create; RecBole's data_path")
    parser.add_argument(
        "--name", help="RecBole dataset name, used for the file names (default: the dataset folder's name)"
    )
    parser.add_argument(
        "--max-len", type=int, default=100, metavar="N",
        help="MAX_ITEM_LIST_LENGTH: the most preceding tracks RecBole's models read, as `segue train --max-len` "
        "(default: 100)",
    )
    parser.add_argument("--force", action="store_true", help="replace DIR if an earlier `segue export` wrote it")
    parser.add_argument("--quiet", action="store_true", help="print nothing when done")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    summary = export_recbole(args.dataset, args.out, name=args.name, max_len=args.max_len, force=args.force)
    if not args.quiet:
        print(
            f"wrote {summary.out}: {summary.playlists:,} playlists, {summary.interactions:,} interactions "
            f"({summary.oov_interactions:,} outside the vocabulary), {summary.items:,} items"
        )
        config = summary.out / f"{summary.name}.yaml"
        print(f'run RecBole with: run_recbole(model="SASRec", dataset="{summary.name}", config_file_list=["{config}"])')
    return 0
