"""Shared fixtures: the real playlist data beside the repository, and datasets prepared from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segue.data import Dataset, PrepareOptions, TableColumns, prepare
from segue.models import MODEL_NAMES, ModelConfig
from segue.scorers.runs import load_scorer, train_or_fit
from segue.training import Settings
from segue.training.config import TrainConfig

SHARED_DATA = Path(os.environ.get("SEGUE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

YES_COLUMNS = TableColumns(playlist="playlist_id", track="song_id", order="pos", title="title", artist="artist")


def shared_path(relative: str) -> Path:
    """Return a path under the shared data folder; fail under CI and skip elsewhere when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"shared data not found: {path} (set SEGUE_SHARED_DATA to the folder with mpd-sample/)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def mpd_sample(tmp_path_factory) -> Dataset:
    source = shared_path("mpd-sample")
    return prepare([str(source)], tmp_path_factory.mktemp("mpd") / "dataset", progress=False)


@pytest.fixture(scope="session")
def yes_small(tmp_path_factory) -> Dataset:
    source = shared_path("yes-small/yes_small.tsv")
    options = PrepareOptions(columns=YES_COLUMNS)
    return prepare([str(source)], tmp_path_factory.mktemp("yes") / "dataset", options, progress=False)


@pytest.fixture(scope="session")
def mpd_all_fields(tmp_path_factory) -> Dataset:
    source = shared_path("mpd-all-fields")
    options = PrepareOptions(min_count=1)
    return prepare([str(source)], tmp_path_factory.mktemp("all") / "dataset", options, progress=False)


def write_cycle_playlists(path: Path, playlists: int, tracks: int, seed: int = 0) -> Path:
    """Write an MPD slice whose playlists walk a cycle of ``tracks`` tracks from a random start.

    Every track is followed by the next one on the cycle, so the next track is fully predictable.
    """
    import json
    import random

    rng = random.Random(seed)
    items = []
    for pid in range(playlists):
        start, length = rng.randrange(tracks), rng.randrange(5, 30)
        items.append({
            "pid": pid,
            "name": f"cycle {pid}",
            "tracks": [
                {
                    "pos": pos,
                    "track_uri": f"spotify:track:cycle{(start + pos) % tracks:04d}",
                    "track_name": f"Song {(start + pos) % tracks}",
                    "artist_name": f"Artist {(start + pos) % tracks % 7}",
                }
                for pos in range(length)
            ],
        })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"info": {}, "playlists": items}))
    return path


@pytest.fixture(scope="session")
def cycle_dataset(tmp_path_factory) -> Dataset:
    """A small dataset of 200 playlists over a cycle of 60 tracks."""
    root = tmp_path_factory.mktemp("cycle")
    source = write_cycle_playlists(root / "source" / "mpd.slice.0-199.json", playlists=200, tracks=60)
    return prepare([str(source)], root / "dataset", PrepareOptions(min_count=1), progress=False)


# Small sizes that every neural model learns the cycle with in a few epochs on one thread.
SMALL_MODEL = dict(embedding_dim=32, hidden_size=32, memory_slots=16, memory_width=16, read_heads=2, dropout=0.0, max_positions=40)
# Training windows of the fitted runs: sequences longer than this test reading past one window.
CONTEXT = 30


@pytest.fixture(scope="session", params=MODEL_NAMES)
def fitted(request, cycle_dataset, tmp_path_factory):
    """Every model trained or fitted on the cycle data: (name, run folder, loaded ScorerRun)."""
    name = request.param
    run = tmp_path_factory.mktemp(name) / "run"
    settings = Settings(
        ModelConfig(model=name, **SMALL_MODEL),
        TrainConfig(epochs=12, batch_size=16, max_len=CONTEXT, lr=0.01, warmup_steps=10, patience=0, device="cpu"),
    )
    train_or_fit(cycle_dataset.path, run, settings, progress=False)
    return name, run, load_scorer(run)


@pytest.fixture(scope="session")
def mpd_markov_run(mpd_sample, tmp_path_factory) -> Path:
    """A Markov baseline on the MPD sample: it fits in seconds and follows every liked track."""
    run = tmp_path_factory.mktemp("mpd-markov") / "markov"
    train_or_fit(mpd_sample.path, run, Settings(ModelConfig(model="markov")), progress=False)
    return run


def track(dataset: Dataset, number: int) -> int:
    """Return the dataset index of track ``number`` of the cycle."""
    with dataset.catalog() as catalog:
        return catalog.execute("SELECT idx FROM tracks WHERE uri = ?", (f"spotify:track:cycle{number:04d}",)).fetchone()[0]


@pytest.fixture(autouse=True)
def feedback_log(tmp_path, monkeypatch) -> Path:
    """Point the default feedback log at a fresh file, so that no test writes to the user's data folder."""
    path = tmp_path / "feedback.sqlite"
    monkeypatch.setenv("SEGUE_FEEDBACK", str(path))
    return path


def pytest_configure(config) -> None:
    # The models' small tensor operations run fastest on one thread, and several threads spin
    # against each other when the machine is busy.
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
