"""Random playlists written as MPD JSON and as a table come back as the same sequences."""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segue.data import Dataset, PrepareOptions, TableColumns, prepare
from segue.data.split import TRAIN

track_uris = st.builds(lambda n: f"spotify:track:{n:022d}", st.integers(min_value=0, max_value=40))
playlists_strategy = st.lists(st.lists(track_uris, min_size=1, max_size=12), min_size=1, max_size=25)


def read_back(dataset: Dataset) -> dict[str, list[str]]:
    with dataset.catalog() as catalog:
        uri_of = dict(catalog.execute("SELECT idx, uri FROM tracks").fetchall())
    return {
        str(key): [uri_of[i] for i in dataset.sequence(row, full=True).tolist()] for row, key in enumerate(dataset.keys)
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(playlists=playlists_strategy, min_count=st.integers(min_value=1, max_value=4))
def test_mpd_and_table_round_trip(playlists, min_count):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        document = {
            "playlists": [
                {"pid": pid, "tracks": [{"pos": pos, "track_uri": uri} for pos, uri in enumerate(tracks)]}
                for pid, tracks in enumerate(playlists)
            ]
        }
        (folder / "mpd.slice.0-0.json").write_text(json.dumps(document))
        with open(folder / "lists.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["playlist_id", "pos", "track_uri"])
            # Rows go out in reverse so that only the order column can restore the order.
            for pid, tracks in reversed(list(enumerate(playlists))):
                for pos, uri in reversed(list(enumerate(tracks))):
                    writer.writerow([pid, pos, uri])

        options = PrepareOptions(min_count=min_count)
        from_json = prepare([str(folder / "mpd.slice.0-0.json")], folder / "a", options, progress=False)
        table_options = PrepareOptions(min_count=min_count, columns=TableColumns(order="pos"))
        from_table = prepare([str(folder / "lists.csv")], folder / "b", table_options, progress=False)

        expected = {str(pid): tracks for pid, tracks in enumerate(playlists)}
        assert {key.removeprefix("mpd:"): tracks for key, tracks in read_back(from_json).items()} == expected
        assert {key.removeprefix("lists:"): tracks for key, tracks in read_back(from_table).items()} == expected
        assert from_json.info["statistics"]["distinct_tracks"] == len({u for tracks in playlists for u in tracks})
        for dataset in (from_json, from_table):
            assert dataset.vocabulary_size == expected_vocabulary(dataset, min_count)


def expected_vocabulary(dataset: Dataset, min_count: int) -> int:
    """Count by hand the distinct tracks seen at least min_count times in training playlists."""
    sequences = read_back(dataset)
    counts = Counter(
        uri
        for key, split in zip(dataset.keys.tolist(), dataset.splits.tolist())
        if split == TRAIN
        for uri in sequences[key]
    )
    return sum(1 for count in counts.values() if count >= min_count)
