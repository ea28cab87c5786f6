"""`segue compare`: train every model with the same settings, evaluate all, write a report."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading
from pathlib import Path

from segue.cli.train import add_setting, settings_from_flags
from segue.errors import UserError
from segue.data import Dataset
from segue.evaluation.compare import Comparison, prepare_report_folder, run_comparison
from segue.evaluation.report import write_report
from segue.models import MODEL_NAMES, ModelConfig
from segue.training import TrainConfig

HELP = "train and evaluate several models with the same settings and write a comparison report"

DEFAULT_MODELS = "lstm,ntm,mann,hybrid,gru,sasrec,pop,itemknn,markov,sknn"
# Settings every model shares and that the command takes as flags; --config sets any other.
SHARED = ("embedding_dim", "hidden_size", "lr", "batch_size", "epochs", "max_steps", "max_len", "time_budget", "device", "holdout")

EPILOG = """\
Every neural model trains once per seed with the same settings; baselines are fitted once.
REPORT gets results.csv (one row per run), results.md (mean and standard deviation per model),
learning_curves.png, metrics.png, and runs/ with every run folder. Running the same command
again reuses the runs already evaluated, so an interrupted comparison continues; a run stopped
in training trains again from its start. A report folder is reused only for the same dataset
and settings (more models or seeds are fine); --force trains everything again.
"""


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "compare", help=HELP, description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", metavar="DATASET", help="dataset folder written by `segue prepare`")
    parser.add_argument("--out", required=True, metavar="REPORT", help="report folder")
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated models (default: {DEFAULT_MODELS})")
    parser.add_argument("--seeds", type=int, default=3, help="runs per neural model, seeds 0 .. N-1 (default: 3)")
    parser.add_argument("--config", metavar="FILE", help="TOML settings for every model, as `segue train --config` takes")
    parser.add_argument("--title", default=None, help="heading of results.md (default: the dataset's folder name)")
    parser.add_argument("--force", action="store_true", help="train everything again, discarding the runs of an earlier comparison in REPORT")
    parser.add_argument("--quiet", action="store_true", help="hide progress bars and per-epoch lines")
    group = parser.add_argument_group("shared settings (see `segue train --help`)")
    fields = {f.name: f for kind in (ModelConfig, TrainConfig) for f in dataclasses.fields(kind)}
    for name in SHARED:
        add_setting(group, fields[name])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    if not models:
        raise UserError(f"--models: no model given; expected some of {', '.join(MODEL_NAMES)}")
    unknown = [name for name in models if name not in MODEL_NAMES]
    if unknown:
        raise UserError(f"--models: unknown model {unknown[0]!r}; expected some of {', '.join(MODEL_NAMES)}")
    if len(set(models)) != len(models):
        raise UserError("--models: a model is listed twice")
    if args.seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {args.seeds}")
    settings = settings_from_flags(args)
    Dataset.load(args.dataset)  # a bad dataset stops here, before the report folder exists

    out = Path(args.out)
    comparison = Comparison(Path(args.dataset), out, models, settings, args.seeds, progress=not args.quiet)
    prepare_report_folder(comparison, args.force)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops the run in training after its current step; runs already evaluated are kept.
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: comparison.stop.set())
    try:
        rows = run_comparison(comparison)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    if rows:
        write_report(out, rows, args.title or f"Comparison on {Path(args.dataset).resolve().name}")
    if comparison.stop.is_set():
        evaluated = f"{len(rows)} evaluated run{'s' if len(rows) != 1 else ''}"
        print(f"interrupted; run the same command again to continue ({evaluated} saved in {out / 'runs'})")
        return 130
    print(f"wrote {out / 'results.md'}, {out / 'results.csv'}, {out / 'learning_curves.png'} and {out / 'metrics.png'}")
    return 0
