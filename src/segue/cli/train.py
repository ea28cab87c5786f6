"""`segue train`: train a next-track model on a dataset folder."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from segue.data.holdout import HOLDOUTS
from segue.errors import UserError
from segue.models import BASELINE_NAMES, MODEL_NAMES, OUTPUT_NAMES, ModelConfig
from segue.scorers.runs import fit_baseline
from segue.training import Settings, TrainConfig, load_settings, train
from segue.training.config import DEVICES, SCHEDULES
from segue.training.trainer import SETTINGS_FILE

HELP = "train a next-track model (lstm, gru, sasrec, ntm, mann or hybrid) or fit a baseline (pop, itemknn, markov, sknn)"

# Settings that may change when a run resumes; the others, holdout among them, would make it a
# different run.
RESUMABLE = {"epochs", "max_steps", "patience", "time_budget", "device", "amp", "checkpoint_every"}

CHOICES = {"model": MODEL_NAMES, "output": OUTPUT_NAMES, "schedule": SCHEDULES, "device": DEVICES, "holdout": HOLDOUTS}

EPILOG = """\
Settings come from the defaults, then --config FILE (a TOML file with [model] and [train]
tables whose keys are the setting names with underscores), then the flags. The resolved
settings are saved as RUN/settings.toml, which --config accepts.

Under torchrun, `torchrun --nproc_per_node N -m segue train ...` trains with
DistributedDataParallel; --batch-size is the global batch over all processes.
"""


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser(
        "train", help=HELP, description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", metavar="DATASET", help="dataset folder written by `segue prepare`")
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder for settings, metrics and checkpoints")
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN from its last checkpoint")
    parser.add_argument("--force", action="store_true", help="replace an existing run folder")
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar and per-epoch lines")
    for title, kind in (("model settings", ModelConfig), ("training settings", TrainConfig)):
        group = parser.add_argument_group(title)
        for setting in dataclasses.fields(kind):
            add_setting(group, setting)
    parser.set_defaults(run=run)


def add_setting(group, setting: dataclasses.Field) -> None:
    flag = "--" + setting.name.replace("_", "-")
    text = f"{setting.metadata['help']} (default: {setting.default if setting.default != '' else 'none'})"
    if isinstance(setting.default, bool):
        group.add_argument(flag, dest=setting.name, action=argparse.BooleanOptionalAction, default=None, help=text)
    elif setting.name in CHOICES:
        choices = CHOICES[setting.name]
        group.add_argument(flag, dest=setting.name, choices=choices, default=None, metavar="{" + ",".join(choices) + "}", help=text)
    else:
        kind = type(setting.default)
        metavar = {int: "N", float: "X"}.get(kind, "TEXT")
        group.add_argument(flag, dest=setting.name, type=kind, default=None, metavar=metavar, help=text)


def _overrides(args: argparse.Namespace) -> dict[str, dict]:
    """Return the settings given as flags, by table; a command may define flags for some settings only."""
    flags: dict[str, dict] = {"model": {}, "train": {}}
    for table, kind in (("model", ModelConfig), ("train", TrainConfig)):
        for setting in dataclasses.fields(kind):
            value = getattr(args, setting.name, None)
            if value is not None:
                flags[table][setting.name] = value
    return flags


def settings_from_flags(args: argparse.Namespace) -> Settings:
    """Return the defaults, then ``args.config`` (a TOML file, if given), then the setting flags."""
    overrides = _overrides(args)
    settings = load_settings(args.config) if args.config else Settings()
    merged = settings.to_dict()
    for table in merged:
        merged[table].update(overrides[table])
    if args.config:
        source = f"{args.config} with command-line flags" if any(overrides.values()) else args.config
    else:
        source = "command line"
    return Settings.from_dict(merged, source)


def resolve_settings(args: argparse.Namespace) -> Settings:
    if not args.resume:
        return settings_from_flags(args)

    if args.config:
        raise UserError("--config cannot be combined with --resume: a resumed run keeps its settings")
    overrides = _overrides(args)
    saved = load_settings(Path(args.out) / SETTINGS_FILE)
    merged = saved.to_dict()
    for table in merged:
        for name, value in overrides[table].items():
            if name not in RESUMABLE and value != merged[table][name]:
                flag = "--" + name.replace("_", "-")
                raise UserError(
                    f"{flag} cannot change when resuming: the run was trained with {merged[table][name]!r}; "
                    f"settings that may change are {', '.join(sorted(RESUMABLE))}"
                )
            merged[table][name] = value
    return Settings.from_dict(merged, "command line")


def run(args: argparse.Namespace) -> int:
    if args.resume and args.force:
        raise UserError("--resume and --force cannot be combined")
    if args.resume and not (Path(args.out) / SETTINGS_FILE).is_file():
        raise UserError(f"{args.out}: no run to resume ({SETTINGS_FILE} not found)")
    settings = resolve_settings(args)
    if settings.model.model in BASELINE_NAMES:
        if args.resume:
            raise UserError(f"{settings.model.model} is fitted in one pass: there is nothing to resume; fit it again with --force")
        fit_baseline(args.dataset, args.out, settings, force=args.force, progress=not args.quiet)
        return 0

    main_process = int(os.environ.get("RANK", "0")) == 0
    if not main_process:
        logging.getLogger().setLevel(logging.WARNING)

    # The first Ctrl-C (or SIGTERM) stops after the current step with a checkpoint; a second
    # Ctrl-C stops at once.
    stop = threading.Event()
    previous = {}

    def request_stop(signum, frame) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        logging.getLogger("segue").warning("stopping after this step; press Ctrl-C again to stop at once")

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
    try:
        result = train(
            args.dataset, args.out, settings, resume=args.resume, force=args.force,
            progress=not args.quiet and main_process, stop=stop,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    # The trainer logs the summary; only the way to continue is printed here.
    if main_process and result.stopped == "interrupted":
        print(f"continue with: segue train {args.dataset} --out {args.out} --resume")
    status = 130 if result.stopped == "interrupted" else 0

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Limitation: with gloo (torch 2.13), a process now and then aborts during interpreter
        # shutdown ("terminate called without an active exception") after the process group is
        # gone and all files are written. Leaving without that shutdown avoids it.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
