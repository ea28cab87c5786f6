"""`segue evaluate`: ranking metrics of a trained run on held-out playlists."""

from __future__ import annotations

import argparse
import logging
import math
import sys

import orjson

from segue.errors import UserError
from segue.evaluation import PROTOCOLS, EvaluationOptions
from segue.evaluation.run import evaluate_run

HELP = "measure a trained run or baseline on held-out playlists: HR, MRR, NDCG, coverage, R-precision"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("evaluate", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `segue train`")
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=None,
        help="next: every track after the ones before it; continuation: RecSys Challenge 2018 seeds of 1 "
        "to 100 tracks, 500 recommendations; last: each playlist's last track (runs trained with "
        "--holdout last). Default: last for runs trained with --holdout last, else next",
    )
    parser.add_argument("--split", choices=("test", "valid"), default="test", help="held-out data to evaluate (default: test)")
    parser.add_argument("-k", type=int, nargs="+", default=[10], metavar="K", help="cut-offs of HR, MRR and NDCG (default: 10)")
    parser.add_argument("--allow-repeats", action="store_true", help="rank tracks already in the playlist too")
    parser.add_argument("--seed", type=int, default=0, help="seed of the continuation protocol's random seeds (default: 0)")
    parser.add_argument("--dataset", metavar="DIR", help="dataset folder, if not the one the run was trained on")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if min(args.k) < 1:
        raise UserError(f"-k must be at least 1, got {min(args.k)}")
    if args.seed < 0:
        raise UserError(f"--seed must be at least 0, got {args.seed}")
    if args.protocol == "continuation" and args.k != [10]:
        logging.getLogger(__name__).warning("-k is ignored: the continuation protocol always scores 500 recommendations")
    options = EvaluationOptions(ks=tuple(sorted(set(args.k))), allow_repeats=args.allow_repeats, seed=args.seed, progress=not args.quiet)
    result = evaluate_run(args.run_dir, args.protocol, args.split, options, args.dataset)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
    else:
        print_result(result)
    return 0


def print_result(result: dict) -> None:
    repeats = ", repeats allowed" if result["allow_repeats"] else ""
    print(f"{result['model']} on the {result['evaluated']} of {result['dataset']} ({result['protocol']} protocol{repeats})")
    if result["protocol"] == "continuation":
        print(f"\n{'seed':<12} {'playlists':>9} {'R-prec':>8} {'NDCG':>8} {'clicks':>8}")
        for name, figures in result["seeds"].items():
            print(
                f"{name:<12} {figures['playlists']:>9,} {_number(figures['r_precision'])} "
                f"{_number(figures['ndcg'])} {_number(figures['clicks'], 2)}"
            )
        return

    print(f"targets: {result['targets']:,}, of which in the vocabulary: {result['in_vocabulary_targets']:,}")
    names = [name for name in result["all"] if not name.startswith(("coverage", "popularity"))]
    print(f"\n{'targets':<14}" + "".join(f"{name:>10}" for name in names))
    for label, key in (("all", "all"), ("in vocabulary", "in_vocabulary")):
        print(f"{label:<14}" + "".join(f"{_percent(result[key].get(name))}" for name in names))
    if "loss" in result["in_vocabulary"]:
        print(f"\nloss (mean negative log-likelihood of in-vocabulary targets): {result['in_vocabulary']['loss']:.4f}")
    for name, value in result["all"].items():
        if name.startswith("coverage"):
            print(f"{name}: {value:.2%} of the vocabulary")
        elif name.startswith("popularity"):
            print(f"{name}: {value:.3f} (mean log(1 + training count) of recommended tracks)")


def _percent(value: float | None) -> str:
    if value is None or math.isnan(value):
        return f"{'-':>10}"
    return f"{value:>10.2%}"


def _number(value: float, digits: int = 4) -> str:
    return f"{'-':>8}" if math.isnan(value) else f"{value:>8.{digits}f}"
