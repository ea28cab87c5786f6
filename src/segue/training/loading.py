"""Loading a trained run for scoring: the model, its settings and its dataset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import orjson

from segue.data.dataset import Dataset
from segue.errors import UserError
from segue.models import NextTrackModel
from segue.training.checkpoint import BEST, LAST, load_checkpoint, vocabulary_fingerprint
from segue.training.config import Settings
from segue.training.trainer import RUN_INFO

logger = logging.getLogger(__name__)


@dataclass
class TrainedRun:
    path: Path
    model: NextTrackModel
    settings: Settings
    dataset: Dataset
    info: dict


def load_run(run: str | Path, dataset: str | Path | None = None, checkpoint: str = "best") -> TrainedRun:
    """Load a run folder's best (or last) model in evaluation mode, on the CPU.

    A run without a best checkpoint, because it stopped before its first validation, loads its
    last one with a warning.

    The dataset defaults to the one the run was trained on, as recorded in ``run.json``; another
    dataset must have the same vocabulary.
    """
    run = Path(run)
    info_path = run / RUN_INFO
    if not info_path.is_file():
        raise UserError(f"{run}: not a Segue run folder ({RUN_INFO} not found); create one with `segue train`")
    info = orjson.loads(info_path.read_bytes())

    data = Dataset.load(dataset if dataset is not None else info["dataset"])
    fingerprint = vocabulary_fingerprint(data)
    name = {"best": BEST, "last": LAST}[checkpoint]
    if name == BEST and not (run / BEST).is_file() and (run / LAST).is_file():
        # A run stopped before its first validation has only the last checkpoint.
        logger.warning("%s: no validated checkpoint yet (%s not found); using %s", run, BEST, LAST)
        name = LAST
    state = load_checkpoint(run / name, fingerprint)

    settings = Settings.from_dict(state["settings"], str(run / name))
    model = NextTrackModel(settings.model, state["num_indices"])
    model.load_state_dict(state["model"])
    model.eval()
    return TrainedRun(run, model, settings, data, info)
