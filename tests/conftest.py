"""Shared fixtures: the real playlist data beside the repository, and datasets prepared from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segue.data import Dataset, PrepareOptions, TableColumns, prepare

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
