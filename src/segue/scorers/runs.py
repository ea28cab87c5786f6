"""Run folders for every scorer: fitting a baseline into one, and loading any run as a scorer."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from segue.data.dataset import Dataset
from segue.data.holdout import training_sequences
from segue.errors import UserError
from segue.scorers.base import Scorer
from segue.scorers.baseline import Baseline
from segue.scorers.itemknn import ItemKNNBaseline
from segue.scorers.markov import MarkovBaseline
from segue.scorers.neural import NeuralScorer
from segue.scorers.pop import PopularityBaseline
from segue.scorers.sknn import SessionKNNBaseline
from segue.training.checkpoint import vocabulary_fingerprint
from segue.training.config import Settings, load_settings
from segue.training.loading import load_run
from segue.training.trainer import RUN_INFO, SETTINGS_FILE, TrainResult, create_run_folder, train, write_run_info

logger = logging.getLogger(__name__)

BASELINES: dict[str, type[Baseline]] = {
    "pop": PopularityBaseline,
    "itemknn": ItemKNNBaseline,
    "markov": MarkovBaseline,
    "sknn": SessionKNNBaseline,
}


@dataclass
class ScorerRun:
    """A run folder loaded for scoring."""

    path: Path
    scorer: Scorer
    settings: Settings
    dataset: Dataset
    info: dict


def fit_baseline(
    dataset_path: str | Path, run: str | Path, settings: Settings, *, force: bool = False, progress: bool = True
) -> TrainResult:
    """Fit the baseline named by ``settings.model.model`` and write its run folder."""
    run = Path(run)
    dataset = Dataset.load(dataset_path)
    started = time.monotonic()
    baseline = BASELINES[settings.model.model](settings.model, dataset.num_indices)
    sequences = training_sequences(dataset, settings.train.holdout)
    baseline.fit(dataset, sequences, progress)
    seconds = time.monotonic() - started

    create_run_folder(run, force, resumable=False)
    write_run_info(run, dataset, vocabulary_fingerprint(dataset), world_size=1, extra={"fit_seconds": seconds})
    settings.save(run / SETTINGS_FILE)
    baseline.save(run)
    logger.info("fitted %s on %d training sequences in %.1f s", baseline.name, len(sequences), seconds)
    return TrainResult(run, "completed", 0, float("nan"), [])


def train_or_fit(
    dataset_path: str | Path,
    run: str | Path,
    settings: Settings,
    *,
    force: bool = False,
    progress: bool = True,
    stop: threading.Event | None = None,
) -> TrainResult:
    """Train the neural model or fit the baseline that ``settings.model.model`` names."""
    if settings.model.model in BASELINES:
        return fit_baseline(dataset_path, run, settings, force=force, progress=progress)
    return train(dataset_path, run, settings, force=force, progress=progress, stop=stop)


def load_scorer(run: str | Path, dataset: str | Path | None = None, checkpoint: str = "best") -> ScorerRun:
    """Load any run folder, neural or baseline, as a scorer with its settings and dataset."""
    run = Path(run)
    info_path = run / RUN_INFO
    if not info_path.is_file():
        raise UserError(f"{run}: not a Segue run folder ({RUN_INFO} not found); create one with `segue train`")
    settings = load_settings(run / SETTINGS_FILE)
    if settings.model.model not in BASELINES:
        trained = load_run(run, dataset, checkpoint)
        scorer = NeuralScorer(trained.model, trained.settings.train.max_len)
        return ScorerRun(run, scorer, trained.settings, trained.dataset, trained.info)

    info = orjson.loads(info_path.read_bytes())
    data = Dataset.load(dataset if dataset is not None else info["dataset"])
    if vocabulary_fingerprint(data) != info["vocabulary"]:
        raise UserError(f"{run}: fitted on another vocabulary than {data.path}; fit it again on this dataset")
    baseline = BASELINES[settings.model.model](settings.model, data.num_indices)
    baseline.load(run)
    return ScorerRun(run, baseline, settings, data, info)
