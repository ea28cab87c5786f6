"""The GRU and SASRec baseline cores: one-pass forward against steps, causality, and training.

The training tests use the cycle dataset of conftest.py, where every track has one successor,
so a working core must rank the next track first almost always.
"""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from segue.cli import main
from segue.errors import UserError
from segue.models import ModelConfig
from segue.models.model import build_core
from segue.training import Settings, load_run, train
from segue.training.config import TrainConfig

BASELINES = ["gru", "sasrec"]

WIDTH = 16
HIDDEN_SIZE = 24
MAX_POSITIONS = 12
BATCH = 3
LENGTH = 10
TOLERANCE = 1e-5


def small_core(name: str):
    """Build a two-layer core in eval mode, so dropout does not make runs differ."""
    config = ModelConfig(
        model=name, embedding_dim=WIDTH, hidden_size=HIDDEN_SIZE, layers=2, attention_heads=2,
        max_positions=MAX_POSITIONS, dropout=0.1,
    )
    assert config.validate() == []
    torch.manual_seed(0)
    return build_core(config).eval()


def inputs(length: int = LENGTH, seed: int = 1) -> torch.Tensor:
    return torch.randn(BATCH, length, WIDTH, generator=torch.Generator().manual_seed(seed))


def run_steps(core, x: torch.Tensor, state=None):
    """Feed ``x`` (B, T, D) one step at a time; return the stacked outputs and the last state."""
    if state is None:
        state = core.initial_state(x.shape[0], x.device)
    outputs = []
    for t in range(x.shape[1]):
        output, state = core.step(x[:, t], state)
        outputs.append(output)
    return torch.stack(outputs, dim=1), state


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


# Both cores


@pytest.mark.parametrize("name", BASELINES)
@torch.no_grad()
def test_forward_matches_steps(name):
    core = small_core(name)
    x = inputs()

    whole, whole_state = core(x)
    stepped, stepped_state = run_steps(core, x)

    assert max_difference(whole, stepped) < TOLERANCE
    assert len(whole_state) == len(stepped_state) == 1
    assert max_difference(whole_state[0], stepped_state[0]) < TOLERANCE


@pytest.mark.parametrize("name", BASELINES)
@torch.no_grad()
def test_forward_continues_state(name):
    core = small_core(name)
    x = inputs()
    stepped, stepped_state = run_steps(core, x)

    _, state = run_steps(core, x[:, :4])
    continued, continued_state = core(x[:, 4:], state)

    assert continued.shape == (BATCH, LENGTH - 4, core.output_size)
    assert max_difference(continued, stepped[:, 4:]) < TOLERANCE
    assert max_difference(continued_state[0], stepped_state[0]) < TOLERANCE


@pytest.mark.parametrize("name", BASELINES)
@torch.no_grad()
def test_right_padding_keeps_real_outputs(name):
    core = small_core(name)
    x = inputs(6)
    padded = torch.cat([x, inputs(4, seed=2)], dim=1)  # 4 steps of stand-in padding on the right

    real, _ = core(x)
    with_padding, _ = core(padded)

    assert with_padding.shape == (BATCH, 10, core.output_size)
    assert max_difference(with_padding[:, :6], real) < TOLERANCE


@pytest.mark.parametrize("name, output_size", [("gru", HIDDEN_SIZE), ("sasrec", WIDTH)])
@torch.no_grad()
def test_output_shape(name, output_size):
    core = small_core(name)
    outputs, _ = core(inputs())
    step_output, _ = core.step(inputs()[:, 0], core.initial_state(BATCH, torch.device("cpu")))

    assert core.output_size == output_size
    assert outputs.shape == (BATCH, LENGTH, output_size)
    assert step_output.shape == (BATCH, output_size)


@pytest.mark.parametrize("name", BASELINES)
def test_memory_settings_ignored(name):
    # Memory settings that no memory model accepts are still valid for a baseline.
    config = ModelConfig(model=name, memory_slots=1, read_heads=4, shift_range=3)
    assert config.validate() == []


# SASRec


@torch.no_grad()
def test_sasrec_ignores_later_inputs():
    core = small_core("sasrec")
    x = inputs()
    changed = x.clone()
    # A fresh random vector: a constant added to every element would go unseen, because every
    # LayerNorm removes it.
    changed[:, 6] = inputs(1, seed=3)[:, 0]

    before, _ = core(x)
    after, _ = core(changed)

    assert max_difference(after[:, :6], before[:, :6]) < 1e-6
    for t in range(6, LENGTH):
        assert max_difference(after[:, t], before[:, t]) > 1e-3, t


@torch.no_grad()
def test_sasrec_reads_earlier_inputs():
    core = small_core("sasrec")
    x = inputs()
    changed = x.clone()
    changed[:, 2] = inputs(1, seed=3)[:, 0]

    before, _ = core(x)
    after, _ = core(changed)

    assert max_difference(after[:, :2], before[:, :2]) < 1e-6
    assert max_difference(after[:, LENGTH - 1], before[:, LENGTH - 1]) > 1e-3


@torch.no_grad()
def test_sasrec_steps_keep_last_positions():
    core = small_core("sasrec")
    x = inputs(MAX_POSITIONS + 5)

    stepped, state = run_steps(core, x)

    # Past max_positions, a step reads only the last max_positions inputs, from position 0.
    assert state[0].shape == (BATCH, MAX_POSITIONS, WIDTH)
    assert torch.equal(state[0], x[:, -MAX_POSITIONS:])
    window, _ = core(x[:, -MAX_POSITIONS:])
    assert max_difference(stepped[:, -1], window[:, -1]) < TOLERANCE

    # A forward call that continues a state past max_positions matches the steps too.
    _, first_state = run_steps(core, x[:, :8])
    continued, continued_state = core(x[:, 8:], first_state)
    assert max_difference(continued, stepped[:, 8:]) < TOLERANCE
    assert torch.equal(continued_state[0], state[0])


def test_sasrec_rejects_long_sequence():
    core = small_core("sasrec")
    with pytest.raises(ValueError, match=r"13 steps is longer than max_positions \(12\)"):
        core(inputs(MAX_POSITIONS + 1))


def test_sasrec_heads_must_divide_width():
    config = ModelConfig(model="sasrec", embedding_dim=30, attention_heads=4)
    assert config.validate() == ["attention_heads: 4 heads must divide embedding_dim, got 30"]


def test_sasrec_short_max_positions_rejected():
    data = {"model": {"model": "sasrec", "max_positions": 50}, "train": {"max_len": 100}}
    expected = (
        "settings.toml: invalid settings: [model] max_positions: 50 must be at least [train] max_len (100) "
        "for sasrec; raise max_positions or lower max_len"
    )
    with pytest.raises(UserError) as rejected:
        Settings.from_dict(data, "settings.toml")
    assert str(rejected.value) == expected

    # Other cores have no position embeddings, so the same numbers pass.
    data["model"]["model"] = "gru"
    assert Settings.from_dict(data, "settings.toml").model.max_positions == 50


def test_cli_rejects_short_max_positions(cycle_dataset, tmp_path, capsys):
    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--model", "sasrec",
                   "--max-positions", "8", "--max-len", "12", "--quiet"])

    assert status == 2
    assert "[model] max_positions: 8 must be at least [train] max_len (12) for sasrec" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_help_lists_baselines(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())

    assert "--model {lstm,gru,sasrec,ntm,mann,hybrid,pop,itemknn,markov,sknn}" in text
    assert "--attention-heads N" in text
    assert "--max-positions N" in text


# Training on the cycle


@pytest.mark.parametrize("name", BASELINES)
def test_learns_cycle(cycle_dataset, tmp_path, name):
    # About 16 steps per epoch, so 16 epochs are about 250 optimiser steps.
    settings = Settings(
        ModelConfig(model=name, embedding_dim=32, hidden_size=64, layers=2, attention_heads=2, max_positions=16, dropout=0.1),
        TrainConfig(epochs=16, batch_size=16, max_len=12, lr=1e-2, warmup_steps=5, patience=0),
    )
    result = train(cycle_dataset.path, tmp_path / "run", settings, progress=False)

    assert result.stopped == "completed"
    assert result.step >= 200
    assert result.history[-1]["valid_hr10"] > 0.9
    assert result.history[-1]["valid_accuracy"] > 0.8

    # The saved checkpoint rebuilds the core, and its steps score the cycle like a forward pass.
    trained = load_run(tmp_path / "run")
    model = trained.model
    with trained.dataset.catalog() as catalog:
        index = {row["uri"]: row["idx"] for row in catalog.execute("SELECT uri, idx FROM tracks")}
    tracks = torch.tensor([[index[f"spotify:track:cycle{n:04d}"] for n in (10, 11, 12, 13)]])
    scores = model.scores_after(tracks, torch.tensor([4]))[0]
    assert int(scores.argmax()) == index["spotify:track:cycle0014"]

    with torch.no_grad():
        state = model.initial_state(1)
        for t in range(tracks.shape[1]):
            step_scores, state = model.step(tracks[:, t], state)
    assert_close(step_scores[0], scores, atol=1e-4, rtol=1e-4)
