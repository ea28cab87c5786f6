"""Training runs on a small synthetic dataset: run folders, repeatability, resume, checkpoints."""

from __future__ import annotations

import csv
import math
import threading

import numpy as np
import pytest
import torch

from segue.errors import UserError
from segue.models import ModelConfig, NextTrackModel
from segue.scorers.neural import NeuralScorer
from segue.training import Settings, TrainingDiverged, load_run, train, trainer
from segue.training.checkpoint import load_checkpoint
from segue.training.config import TrainConfig, load_settings


def small_settings(model: str = "mann", **train_settings) -> Settings:
    model_config = ModelConfig(
        model=model, embedding_dim=16, hidden_size=32, memory_slots=16, memory_width=8, read_heads=2, dropout=0.1
    )
    defaults = {"epochs": 2, "batch_size": 16, "max_len": 12, "lr": 1e-2, "warmup_steps": 5}
    return Settings(model_config, TrainConfig(**{**defaults, **train_settings}))


def weights(run, name="last.pt") -> dict[str, torch.Tensor]:
    return torch.load(run / name, weights_only=True)["model"]


def test_run_folder_contents(cycle_dataset, tmp_path):
    result = train(cycle_dataset.path, tmp_path / "run", small_settings(), progress=False)

    files = {path.name for path in (tmp_path / "run").iterdir()}
    assert {"run.json", "settings.toml", "metrics.csv", "last.pt", "best.pt", "tensorboard"} <= files
    assert result.stopped == "completed"
    with open(tmp_path / "run" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    assert 0 <= float(rows[1]["valid_accuracy"]) <= float(rows[1]["valid_hr10"]) <= 1
    assert load_settings(tmp_path / "run" / "settings.toml") == small_settings()
    assert any((tmp_path / "run" / "tensorboard").iterdir())


def test_steps_per_epoch_count(cycle_dataset, tmp_path):
    # 200 playlists of 5 to 29 tracks are each one window of at most 13 tracks or two or three.
    result = train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)
    from segue.data.holdout import training_sequences
    from segue.training.windows import Windows

    windows = Windows(training_sequences(cycle_dataset, "playlists"), 12)
    assert result.step == math.ceil(len(windows) / 16)
    assert all(1 <= end - start <= 13 for start, end in zip(windows.starts, windows.ends))


def test_same_seed_same_weights(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "a", small_settings(), progress=False)
    train(cycle_dataset.path, tmp_path / "b", small_settings(), progress=False)
    first, second = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_other_seed_other_weights(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "a", small_settings(epochs=1), progress=False)
    train(cycle_dataset.path, tmp_path / "b", small_settings(epochs=1, seed=1), progress=False)
    first, second = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert not torch.equal(first["embedding.table.weight"], second["embedding.table.weight"])


@pytest.mark.parametrize("model", ["lstm", "ntm", "mann", "hybrid"])
def test_resume_matches_uninterrupted(cycle_dataset, tmp_path, model):
    settings = small_settings(model, epochs=2)
    train(cycle_dataset.path, tmp_path / "whole", settings, progress=False)

    # Stop in the middle of the first epoch, as Ctrl-C does, then resume.
    stop = threading.Event()
    stopped = train(
        cycle_dataset.path, tmp_path / "split", settings, progress=False, stop=stop,
        on_step=lambda step: stop.set() if step == 4 else None,
    )
    assert stopped.stopped == "interrupted"
    assert stopped.step == 4
    resumed = train(cycle_dataset.path, tmp_path / "split", settings, resume=True, progress=False)
    assert resumed.stopped == "completed"

    whole, split = weights(tmp_path / "whole"), weights(tmp_path / "split")
    for key in whole:
        assert torch.equal(whole[key], split[key]), key
    assert (tmp_path / "whole" / "metrics.csv").read_text() != ""
    assert _metrics_without_timing(tmp_path / "whole") == _metrics_without_timing(tmp_path / "split")


def _metrics_without_timing(run) -> list[dict]:
    with open(run / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k not in ("seconds", "sequences_per_second")} for row in csv.DictReader(handle)]


def test_resume_after_finish_trains_more(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)
    more = train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=2), resume=True, progress=False)
    assert [row["epoch"] for row in more.history] == [1, 2]


def test_max_steps_stops_mid_epoch(cycle_dataset, tmp_path):
    result = train(cycle_dataset.path, tmp_path / "run", small_settings(max_steps=3), progress=False)
    assert result.stopped == "max steps"
    assert result.step == 3
    assert len(result.history) == 1


def test_early_stopping_on_patience(cycle_dataset, tmp_path, monkeypatch):
    losses = iter([3.0, 2.0, 2.5, 2.1, 1.0])

    def scripted_validation(*args, **kwargs):
        return {"valid_loss": next(losses), "valid_accuracy": 0.0, "valid_hr10": 0.0}

    monkeypatch.setattr(trainer, "validate", scripted_validation)
    result = train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=5, patience=2), progress=False)

    assert result.stopped == "early stopping"
    assert [row["valid_loss"] for row in result.history] == [3.0, 2.0, 2.5, 2.1]
    assert result.best_valid_loss == 2.0
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["progress"]["step"] == 2 * result.step // 4


def test_corrupted_checkpoint_rejected(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)
    path = tmp_path / "run" / "last.pt"
    path.write_bytes(path.read_bytes()[: 2000])

    with pytest.raises(UserError, match="not a readable Segue checkpoint: the file is damaged or incomplete"):
        train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=2), resume=True, progress=False)


def test_foreign_checkpoint_rejected(cycle_dataset, yes_small, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)

    with pytest.raises(UserError, match="another vocabulary"):
        train(yes_small.path, tmp_path / "run", small_settings(epochs=2), resume=True, progress=False)
    with pytest.raises(UserError, match="another vocabulary"):
        load_run(tmp_path / "run", dataset=yes_small.path)


def test_pickled_object_rejected(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)
    torch.save({"format": 1, "payload": threading.Event}, tmp_path / "run" / "last.pt")

    with pytest.raises(UserError, match="contains Python objects that a safe load rejects"):
        load_checkpoint(tmp_path / "run" / "last.pt")


def test_nan_loss_keeps_last_checkpoint(cycle_dataset, tmp_path, monkeypatch):
    settings = small_settings(epochs=3)
    train(cycle_dataset.path, tmp_path / "run", small_settings(epochs=1), progress=False)
    good = weights(tmp_path / "run")

    original = NextTrackModel.loss
    calls = {"count": 0}

    def loss_turning_nan(self, inputs, targets):
        loss, count = original(self, inputs, targets)
        calls["count"] += 1
        return (loss * math.nan if calls["count"] >= 3 else loss), count

    monkeypatch.setattr(NextTrackModel, "loss", loss_turning_nan)
    with pytest.raises(TrainingDiverged, match="training loss became nan at epoch 2"):
        train(cycle_dataset.path, tmp_path / "run", settings, resume=True, progress=False)
    after_failure = weights(tmp_path / "run")
    assert all(torch.equal(good[key], after_failure[key]) for key in good)


def test_existing_run_needs_force(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings(max_steps=1), progress=False)
    with pytest.raises(UserError, match="already exists; pass --resume"):
        train(cycle_dataset.path, tmp_path / "run", small_settings(max_steps=1), progress=False)

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a Segue run folder"):
        train(cycle_dataset.path, other, small_settings(max_steps=1), force=True, progress=False)
    assert (other / "notes.txt").read_text() == "keep me"


def test_loaded_run_scores_cycle(cycle_dataset, tmp_path):
    # On the cycle every track has one successor; a trained model must rank it first.
    settings = small_settings("lstm", epochs=12, lr=2e-2, patience=0)
    settings.model.dropout = 0.0
    train(cycle_dataset.path, tmp_path / "run", settings, progress=False)
    trained = load_run(tmp_path / "run")

    with trained.dataset.catalog() as catalog:
        index = {row["uri"]: row["idx"] for row in catalog.execute("SELECT uri, idx FROM tracks")}
    sequence = [index[f"spotify:track:cycle{n:04d}"] for n in (10, 11, 12, 13)]
    tracks = torch.tensor([sequence])
    scores = trained.model.scores_after(tracks, torch.tensor([4]))[0]
    assert int(scores.argmax()) == index["spotify:track:cycle0014"]


def test_context_reads_last_tracks(cycle_dataset, tmp_path):
    train(cycle_dataset.path, tmp_path / "run", small_settings("lstm", max_steps=2), progress=False)
    model = load_run(tmp_path / "run").model
    sequence = list(range(2, 40))

    scorer = NeuralScorer(model, context=12)
    limited = list(zip(*(array.tolist() for array in scorer.recommend(np.array(sequence), k=5))))

    # The same as ranking after the last 12 tracks alone, minus the tracks of the whole sequence.
    every_track = zip(*(array.tolist() for array in scorer.recommend(np.array(sequence[-12:]), k=60, allow_repeats=True)))
    expected = [(index, score) for index, score in every_track if index not in sequence][:5]
    assert [index for index, _ in limited] == [index for index, _ in expected]
    assert [score for _, score in limited] == pytest.approx([score for _, score in expected], abs=1e-6)


def test_last_holdout_learns_cycle(cycle_dataset, tmp_path):
    # Leave-one-out on the cycle: each playlist's second-last track is its validation target.
    settings = small_settings("lstm", epochs=12, lr=2e-2, patience=0, holdout="last")
    settings.model.dropout = 0.0
    result = train(cycle_dataset.path, tmp_path / "run", settings, progress=False)

    assert load_settings(tmp_path / "run" / "settings.toml").train.holdout == "last"
    assert result.history[-1]["valid_hr10"] > 0.9
