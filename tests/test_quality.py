"""Minimum quality on real data: every model learns, and beats popularity on radio playlists."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segue.data import Dataset
from segue.data.holdout import held_out_sequences
from segue.models import ModelConfig, NextTrackModel
from segue.training import Settings, train
from segue.training.config import TrainConfig
from segue.training.distributed import Process
from segue.training.validation import validate
from segue.training.windows import Windows


def popularity_hr10(dataset: Dataset) -> float:
    """HR@10 on the validation split of always recommending the 10 most played training tracks."""
    counts = np.zeros(dataset.num_indices, dtype=np.int64)
    for row in dataset.playlists_in("train"):
        np.add.at(counts, dataset.sequence(row), 1)
    counts[:2] = 0
    top = np.argsort(-counts, kind="stable")[:10]

    hits = targets = 0
    for row in dataset.playlists_in("valid"):
        following = dataset.sequence(row)[1:]
        following = following[following > 1]
        hits += int(np.isin(following, top).sum())
        targets += len(following)
    return hits / targets


def test_popularity_on_yes_small(yes_small):
    assert popularity_hr10(yes_small) == pytest.approx(0.0456, abs=5e-4)


@pytest.mark.parametrize("model", ["lstm", "ntm", "mann", "hybrid"])
def test_model_beats_popularity(yes_small, tmp_path, model):
    settings = Settings(
        ModelConfig(model=model, embedding_dim=64, hidden_size=64, memory_slots=32, memory_width=16, read_heads=2, dropout=0.0),
        TrainConfig(epochs=1, max_steps=200, batch_size=64, max_len=20, lr=1e-2, warmup_steps=10),
    )
    result = train(yes_small.path, tmp_path / "run", settings, progress=False)

    popularity = popularity_hr10(yes_small)
    assert result.history[-1]["valid_hr10"] > 1.5 * popularity


def test_loss_falls_on_mpd_sample(mpd_sample, tmp_path):
    settings = Settings(
        ModelConfig(model="mann", embedding_dim=64, hidden_size=64, memory_slots=32, memory_width=16, read_heads=2),
        TrainConfig(epochs=1, max_steps=40, batch_size=32, max_len=30, lr=1e-2, warmup_steps=5),
    )
    torch.manual_seed(settings.train.seed)
    untrained = NextTrackModel(settings.model, mpd_sample.num_indices)
    valid_windows = Windows(held_out_sequences(mpd_sample, "playlists", "valid"), 30)
    before = validate(untrained, valid_windows, 64, torch.device("cpu"), Process())

    result = train(mpd_sample.path, tmp_path / "run", settings, progress=False)

    assert before["valid_loss"] == pytest.approx(math.log(mpd_sample.vocabulary_size), abs=0.05)
    assert result.history[-1]["valid_loss"] < before["valid_loss"] - 0.2
