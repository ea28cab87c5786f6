"""Checkpoints: model and optimiser state, settings, progress and the vocabulary fingerprint."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import zipfile
from pathlib import Path

import torch

from segue.data.dataset import Dataset
from segue.errors import UserError

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
LAST, BEST = "last.pt", "best.pt"


def vocabulary_fingerprint(dataset: Dataset) -> str:
    """Return a SHA-256 over the vocabulary's track URIs in index order.

    Two datasets with the same fingerprint map every index to the same track, so a model trained
    on one scores tracks correctly on the other.
    """
    digest = hashlib.sha256()
    with dataset.catalog() as catalog:
        query = "SELECT uri FROM tracks WHERE idx >= 2 AND idx < ? ORDER BY idx"
        for (uri,) in catalog.execute(query, (dataset.num_indices,)):
            digest.update(uri.encode())
            digest.update(b"\n")
    return digest.hexdigest()


def save_checkpoint(state: dict, path: Path) -> None:
    """Write a checkpoint atomically: a reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def load_checkpoint(path: Path, fingerprint: str | None = None, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint without unpickling arbitrary objects, and check it fits the dataset.

    Raises UserError for a missing, damaged or foreign checkpoint, and for one trained on a
    dataset whose vocabulary fingerprint differs from ``fingerprint``.
    """
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message here suggests weights_only=False, which would run arbitrary code.
        raise UserError(
            f"{path}: not a readable Segue checkpoint: it contains Python objects that a safe load rejects"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile):
        raise UserError(f"{path}: not a readable Segue checkpoint: the file is damaged or incomplete") from None

    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path}: not a Segue checkpoint of format {CHECKPOINT_FORMAT}")
    if fingerprint is not None and state.get("vocabulary") != fingerprint:
        raise UserError(
            f"{path}: the checkpoint was trained on a dataset with another vocabulary "
            f"(fingerprint {str(state.get('vocabulary'))[:12]}, this dataset has {fingerprint[:12]}); "
            "train a new run on this dataset, or point to the dataset it was trained on"
        )
    return state
