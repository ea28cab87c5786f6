"""Bloom codes: stable hashes, the encoding and decoding layers, and a trained model that uses them."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from segue.models import ModelConfig
from segue.models.bloom import bloom_positions
from segue.models.embeddings import TrackEmbedding
from segue.models.outputs import OutputLayer
from segue.training import Settings, train
from segue.training.config import TrainConfig


def test_positions_fixed_values():
    # Fixed numbers: any change to the hash would silently scramble every trained Bloom model.
    assert bloom_positions(5, 1000, 3).tolist() == [
        [535, 56, 282], [465, 167, 529], [110, 514, 359], [53, 283, 455], [978, 769, 477],
    ]
    assert bloom_positions(3, 97, 2, seed=1).tolist() == [[86, 44], [32, 56], [89, 44]]


def test_positions_same_in_new_process():
    code = "from segue.models.bloom import bloom_positions; print(bloom_positions(50, 64, 4).sum())"
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert int(output.stdout) == int(bloom_positions(50, 64, 4).sum())


def test_positions_range_and_spread():
    positions = bloom_positions(10_000, 500, 3)
    assert positions.shape == (10_000, 3)
    assert positions.min() == 0
    assert positions.max() == 499
    # Every position is used, and roughly equally: 60 expected uses each.
    counts = np.bincount(positions.ravel(), minlength=500)
    assert counts.min() > 25
    assert counts.max() < 100
    # Two tracks share a whole code only by rare chance.
    assert len({tuple(sorted(row)) for row in positions.tolist()}) > 9_990


def test_embedding_sums_rows():
    positions = torch.tensor([[0, 1], [2, 3], [1, 3]])
    embedding = TrackEmbedding(3, 2, positions, bloom_dim=4)
    with torch.no_grad():
        embedding.table.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [10.0, 0.0]]))
    vectors = embedding(torch.tensor([[2, 1]]))
    assert vectors.tolist() == [[[10.0, 1.0], [12.0, 2.0]]]


def test_output_loss_and_scores():
    # Four indices over three positions; tracks 2 and 3 have codes {0, 1} and {1, 2}.
    positions = torch.tensor([[0, 0], [0, 0], [0, 1], [1, 2]])
    output = OutputLayer(1, 4, 3, 1, positions, tied=False)
    with torch.no_grad():
        output.project.weight.zero_()
        output.project.bias.copy_(torch.tensor([math.log(1.0), math.log(2.0), math.log(5.0)]))
    features = torch.zeros(1, 1)
    log_p = [math.log(0.125), math.log(0.25), math.log(0.625)]

    loss = output.loss(features, torch.tensor([3]), torch.empty(0))
    assert loss.item() == pytest.approx(-(log_p[1] + log_p[2]) / 2)

    scores = output.scores(features, torch.empty(0))[0]
    assert scores[0].item() == -math.inf
    assert scores[1].item() == -math.inf
    assert scores[2].item() == pytest.approx(log_p[0] + log_p[1])
    assert scores[3].item() == pytest.approx(log_p[1] + log_p[2])


def test_trained_bloom_model_ranks_next(cycle_dataset, tmp_path):
    # 62 indices share 16 output units, yet the cycle's next track must still come out on top.
    settings = Settings(
        ModelConfig(model="lstm", embedding_dim=32, hidden_size=64, dropout=0.0, output="bloom", bloom_dim=16, bloom_hashes=3),
        TrainConfig(epochs=15, batch_size=16, max_len=12, lr=2e-2, warmup_steps=5, patience=0),
    )
    result = train(cycle_dataset.path, tmp_path / "run", settings, progress=False)
    assert cycle_dataset.num_indices == 62
    assert result.history[-1]["valid_hr10"] > 0.95
    assert result.history[-1]["valid_accuracy"] > 0.7
