"""The side-by-side study behind `segue compare`: train or fit every model, evaluate them alike.

Every neural model gets the same shared settings (sizes, learning rate, batch size, epochs or
time budget) and one run per seed. Baselines have no randomness, so they are fitted once. Each run is
evaluated on the test data with the protocol its holdout allows, and on as many training
playlists for the training-data figures of the original study. Runs and their figures are kept
under ``REPORT/runs``, so an interrupted comparison continues where it stopped. A run that was
stopped in training trains again from its start. ``REPORT/comparison.json`` records the dataset
and settings, and a report folder is reused only for the same ones.
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from segue.data.dataset import Dataset
from segue.data.holdout import Sequences, training_sequences
from segue.errors import UserError
from segue.evaluation.protocols import EvaluationOptions, evaluate_next, training_counts
from segue.evaluation.run import evaluate_run
from segue.scorers.runs import BASELINES, load_scorer, train_or_fit
from segue.training.config import Settings

logger = logging.getLogger(__name__)

FIGURES_FILE = "evaluation.json"
REPORT_INFO = "comparison.json"
# Training-data figures come from at most this many training playlists.
TRAINING_SAMPLE = 500


@dataclass
class Comparison:
    dataset: Path
    out: Path
    models: list[str]
    settings: Settings
    seeds: int = 3
    progress: bool = True
    stop: threading.Event = field(default_factory=threading.Event)


def prepare_report_folder(comparison: Comparison, force: bool) -> None:
    """Create the report folder, or check that an existing one contains the same comparison.

    Only a folder with ``comparison.json`` (or an empty one) is used. One made with another
    dataset or other settings is rejected, or emptied with ``force``, so that no figure of an
    earlier comparison ends up in this one's report.
    """
    out = comparison.out
    info = {
        "dataset": str(Path(comparison.dataset).resolve()),
        "settings": comparison.settings.to_dict(),
    }
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / REPORT_INFO).is_file():
            raise UserError(
                f"{out}: not a `segue compare` report folder ({REPORT_INFO} not found); choose another --out"
            )
        earlier = orjson.loads((out / REPORT_INFO).read_bytes())
        if force:
            shutil.rmtree(out / "runs", ignore_errors=True)
        elif earlier != info:
            raise UserError(
                f"{out}: contains a comparison {_difference(earlier, info)}; pass --force to train "
                "everything again, or choose another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / (REPORT_INFO + ".tmp")
    temporary.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    temporary.replace(out / REPORT_INFO)


def _difference(earlier: dict, now: dict) -> str:
    """Describe the first difference between two comparison records, for an error message."""
    if earlier.get("dataset") != now["dataset"]:
        return f"on another dataset ({earlier.get('dataset')})"
    for table, values in now["settings"].items():
        for name, value in values.items():
            before = earlier.get("settings", {}).get(table, {}).get(name)
            if before != value:
                return f"with other settings ({name} was {before!r}, now {value!r})"
    return "with other settings"


def run_comparison(comparison: Comparison) -> list[dict]:
    """Train, fit and evaluate every model; return one row of figures per run."""
    runs_folder = comparison.out / "runs"
    runs_folder.mkdir(parents=True, exist_ok=True)
    plan = [(name, seed) for name in comparison.models for seed in range(1 if name in BASELINES else comparison.seeds)]
    rows = []
    for number, (name, seed) in enumerate(plan, start=1):
        if comparison.stop.is_set():
            break
        run = runs_folder / (name if name in BASELINES else f"{name}-seed{seed}")
        figures_path = run / FIGURES_FILE
        if figures_path.is_file():
            logger.info("[%d/%d] %s: already evaluated, reusing %s", number, len(plan), run.name, figures_path)
            rows.append(orjson.loads(figures_path.read_bytes()))
            continue

        logger.info("[%d/%d] %s", number, len(plan), run.name)
        settings = copy.deepcopy(comparison.settings)
        settings.model.model, settings.train.seed = name, comparison.settings.train.seed + seed
        seconds, history, stopped = _train_or_fit(comparison, run, settings)
        if stopped == "interrupted":
            break

        row = _evaluate(run, comparison.progress)
        row.update({"seed": seed, "train_seconds": seconds, "stopped": stopped, "history": history})
        temporary = figures_path.with_name(FIGURES_FILE + ".tmp")
        temporary.write_bytes(orjson.dumps(row, option=orjson.OPT_INDENT_2))
        temporary.replace(figures_path)
        rows.append(row)
    return rows


def _train_or_fit(comparison: Comparison, run: Path, settings: Settings) -> tuple[float, list[dict], str]:
    # Limitation: a run folder without figures stopped before its evaluation, and it trains again
    # from its start instead of resuming from its last checkpoint.
    started = time.monotonic()
    result = train_or_fit(comparison.dataset, run, settings, force=True, progress=comparison.progress, stop=comparison.stop)
    seconds = result.history[-1]["seconds"] if result.history else time.monotonic() - started
    return seconds, result.history, result.stopped


def _evaluate(run: Path, progress: bool) -> dict:
    loaded = load_scorer(run)
    holdout = loaded.settings.train.holdout
    protocol = "next" if holdout == "playlists" else "last"
    options = EvaluationOptions(ks=(10,), progress=progress)
    test = evaluate_run(loaded, protocol, "test", options)

    sample = _training_sample(loaded.dataset, holdout, seed=0)
    on_training = evaluate_next(loaded.scorer, sample, training_counts(loaded.dataset, holdout), options)
    return {
        "model": loaded.scorer.name,
        "run": str(run),
        "protocol": protocol,
        "evaluated": test["evaluated"],
        "test": test,
        "train": on_training,
    }


def _training_sample(dataset: Dataset, holdout: str, seed: int) -> Sequences:
    """Pick up to TRAINING_SAMPLE training sequences, the same ones for every model."""
    sequences = training_sequences(dataset, holdout)
    count = min(TRAINING_SAMPLE, len(sequences))
    chosen = np.sort(np.random.default_rng(seed).choice(len(sequences), count, replace=False))
    return Sequences(sequences.tracks, sequences.starts[chosen], sequences.ends[chosen], sequences.rows[chosen])
