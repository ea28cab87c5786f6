"""Evaluating a run folder: load its scorer, check the protocol fits how it was trained, evaluate."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from segue.data.holdout import split_label
from segue.errors import UserError
from segue.evaluation.protocols import PROTOCOL_HOLDOUT, EvaluationOptions, evaluate
from segue.scorers.runs import ScorerRun, load_scorer

logger = logging.getLogger(__name__)


def evaluate_run(
    run: str | Path | ScorerRun,
    protocol: str | None = None,
    split: str = "test",
    options: EvaluationOptions | None = None,
    dataset: str | Path | None = None,
) -> dict:
    """Evaluate a run (a folder, or one already loaded) and return the figures with what produced them.

    Without a protocol, a run trained with the ``last`` holdout gets ``last`` and others ``next``.
    """
    options = options or EvaluationOptions()
    loaded = run if isinstance(run, ScorerRun) else load_scorer(run, dataset)
    holdout = loaded.settings.train.holdout
    if protocol is None:
        protocol = "last" if holdout == "last" else "next"
    if PROTOCOL_HOLDOUT[protocol] != holdout:
        needed = PROTOCOL_HOLDOUT[protocol]
        raise UserError(
            f"{loaded.path}: --protocol {protocol} needs a run trained with --holdout {needed}, "
            f"but this run held out {holdout}; its training data overlaps the {protocol} targets"
        )

    started = time.monotonic()
    figures = evaluate(loaded.scorer, loaded.dataset, protocol, holdout, split, options)
    seconds = time.monotonic() - started
    logger.info("evaluated %s on the %s in %.1f s", loaded.scorer.name, split_label(holdout, split), seconds)
    return {
        "run": str(loaded.path),
        "model": loaded.scorer.name,
        "dataset": str(loaded.dataset.path),
        "split": split,
        "evaluated": split_label(holdout, split),
        "allow_repeats": options.allow_repeats,
        "seconds": seconds,
        **figures,
    }
