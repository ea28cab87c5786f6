"""The memory cores recall an episode far better than an LSTM of the same hidden size.

Each episode is a random sequence of ``LENGTH`` distinct symbols from an alphabet of
``ALPHABET``, followed by the same sequence again. Only the repeated half is scored, and each of
its tracks is predicted from the tracks before it. The first half has padding targets, so a
model can score only by remembering it.

Every model trains for the same number of steps on the same batches, with the same optimiser,
learning rate and gradient clipping. The memory cores can store each track in a memory slot
and look it up again, while the LSTM must keep eight symbols out of 24 in 16 units.

The sizes and thresholds come from runs of this file's setup with seeds 0 to 4 on torch 2.13
CPU. The memory cores reached 0.60 to 0.83 accuracy and the LSTM 0.24 to 0.31, against a chance
level of 1/24 (about 0.04).

NOTE: an NTM whose slots all stay equal, so that its memory is one shared vector, also passes
here (0.58 and 0.63 with seeds 0 and 1), because that vector still adds state. The slot-level
behaviour is checked in test_memory_ops.py.
"""

from __future__ import annotations

import pytest
import torch

from segue.models import ModelConfig, NextTrackModel

ALPHABET = 24
LENGTH = 8
HIDDEN_SIZE = 16
MEMORY_SLOTS = 24
MEMORY_WIDTH = 32
READ_HEADS = 2
STEPS = 200
BATCH_SIZE = 64
LEARNING_RATE = 0.02
MAX_GRAD_NORM = 1.0
EVALUATION_EPISODES = 500
SEED = 0

MEMORY_MODELS = ["ntm", "mann", "hybrid"]

# The first symbol gets index 2, after padding (0) and OOV (1).
NUM_INDICES = ALPHABET + 2


def make_episodes(generator: torch.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return inputs and targets (count, 2 * LENGTH - 1), with targets only on the repeated half."""
    symbols = torch.rand(count, ALPHABET, generator=generator).argsort(dim=1)[:, :LENGTH] + 2
    episodes = torch.cat([symbols, symbols], dim=1)
    inputs = episodes[:, :-1]
    targets = episodes[:, 1:].clone()
    # Target t is track t + 1, so the first LENGTH - 1 targets belong to the first half.
    targets[:, : LENGTH - 1] = 0
    return inputs, targets


def build_model(name: str) -> NextTrackModel:
    config = ModelConfig(
        model=name,
        embedding_dim=32,
        hidden_size=HIDDEN_SIZE,
        memory_slots=MEMORY_SLOTS,
        memory_width=MEMORY_WIDTH,
        read_heads=READ_HEADS,
        write_heads=1,
        shift_range=1,
        dropout=0.0,
    )
    assert config.validate() == []
    return NextTrackModel(config, NUM_INDICES)


def train(model: NextTrackModel) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    # Every model trains on the same batches in the same order.
    generator = torch.Generator().manual_seed(SEED + 1)
    model.train()
    for _ in range(STEPS):
        inputs, targets = make_episodes(generator, BATCH_SIZE)
        loss, count = model.loss(inputs, targets)
        optimiser.zero_grad()
        (loss / count).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimiser.step()


@torch.no_grad()
def recall_accuracy(model: NextTrackModel) -> float:
    """Step through fresh episodes and return the share of repeated-half tracks ranked first."""
    inputs, targets = make_episodes(torch.Generator().manual_seed(SEED + 2), EVALUATION_EPISODES)
    model.eval()
    state = model.initial_state(EVALUATION_EPISODES)
    predictions = []
    for t in range(inputs.shape[1]):
        scores, state = model.step(inputs[:, t], state)
        predictions.append(scores.argmax(dim=-1))
    predicted = torch.stack(predictions, dim=1)
    scored = targets > 1
    return (predicted[scored] == targets[scored]).float().mean().item()


@pytest.fixture(scope="module")
def accuracies() -> dict[str, float]:
    # The thread count can change the order of floating-point sums, and with it the training run.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = {}
        for name in ["lstm", *MEMORY_MODELS]:
            torch.manual_seed(SEED)
            model = build_model(name)
            train(model)
            results[name] = recall_accuracy(model)
        return results
    finally:
        torch.set_num_threads(threads)


def test_episodes_repeat_distinct_symbols():
    inputs, targets = make_episodes(torch.Generator().manual_seed(SEED), 3)
    first_half = inputs[:, :LENGTH]
    for row in first_half.tolist():
        assert len(set(row)) == LENGTH
    assert first_half.min().item() >= 2
    assert first_half.max().item() <= ALPHABET + 1
    assert torch.equal(targets[:, LENGTH - 1 :], first_half)
    assert torch.equal(targets[:, : LENGTH - 1], torch.zeros(3, LENGTH - 1, dtype=targets.dtype))


@pytest.mark.parametrize("name", MEMORY_MODELS)
def test_memory_core_recalls_episode(accuracies, name):
    assert accuracies[name] >= 0.5, accuracies


def test_lstm_learns_above_chance(accuracies):
    # The LSTM must have trained at all, or beating it would prove nothing.
    assert accuracies["lstm"] >= 3 / ALPHABET, accuracies


@pytest.mark.parametrize("name", MEMORY_MODELS)
def test_lstm_recalls_less(accuracies, name):
    assert accuracies["lstm"] <= accuracies[name] - 0.15, accuracies
