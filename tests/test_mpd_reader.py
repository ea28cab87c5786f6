"""The MPD reader on small hand-made slices."""

from __future__ import annotations

import json

import numpy as np

from segue.data import OOV, Dataset, PrepareOptions, prepare
from segue.data.mpd import read_mpd_file


def write_json(path, document):
    path.write_text(json.dumps(document))
    return str(path)


def uris_of(dataset: Dataset, row: int) -> list[str]:
    with dataset.catalog() as catalog:
        return [
            catalog.execute("SELECT uri FROM tracks WHERE idx = ?", (index,)).fetchone()[0]
            for index in dataset.sequence(row, full=True).tolist()
        ]


def test_tracks_ordered_by_pos(tmp_path):
    tracks = [
        {"pos": 2, "track_uri": "spotify:track:c"},
        {"pos": 0, "track_uri": "spotify:track:a"},
        {"pos": 1, "track_uri": "spotify:track:b"},
    ]
    parsed = read_mpd_file(write_json(tmp_path / "s.json", {"playlists": [{"pid": 1, "tracks": tracks}]}))
    assert [parsed.uris[i] for i in parsed.rows] == ["spotify:track:a", "spotify:track:b", "spotify:track:c"]


def test_list_order_without_pos(tmp_path):
    tracks = [{"track_uri": "spotify:track:c"}, {"track_uri": "spotify:track:a"}, {"track_uri": "spotify:track:c"}]
    parsed = read_mpd_file(write_json(tmp_path / "s.json", {"playlists": [{"pid": 1, "tracks": tracks}]}))
    assert [parsed.uris[i] for i in parsed.rows] == ["spotify:track:c", "spotify:track:a", "spotify:track:c"]
    assert parsed.lengths.tolist() == [3]


def test_local_and_empty_uris_dropped_and_counted(tmp_path):
    tracks = [
        {"track_uri": "spotify:local:Artist:Album:Song:200"},
        {"track_uri": ""},
        {"track_uri": None},
        {"track_uri": "spotify:track:a"},
    ]
    parsed = read_mpd_file(write_json(tmp_path / "s.json", {"playlists": [{"pid": 1, "tracks": tracks}]}))
    assert parsed.uris == ["spotify:track:a"]
    assert parsed.lengths.tolist() == [1]
    assert dict(parsed.dropped) == {"local_file": 1, "empty_uri": 2}


def test_metadata_and_playlist_fields_kept(tmp_path):
    playlist = {
        "pid": 9,
        "name": "Road trip",
        "description": "windows down",
        "collaborative": "false",
        "num_followers": 3,
        "tracks": [
            {
                "track_uri": "spotify:track:a",
                "track_name": "Song A",
                "artist_name": "Band",
                "album_name": "LP",
                "duration_ms": 1000,
                "artist_uri": "spotify:artist:x",
                "album_uri": "spotify:album:y",
            }
        ],
    }
    parsed = read_mpd_file(write_json(tmp_path / "s.json", {"playlists": [playlist]}))
    assert parsed.track_values == [("Song A", "Band", "LP", 1000, "spotify:artist:x", "spotify:album:y")]
    record = parsed.playlists[0]
    assert (record.key, record.name, record.description, record.challenge) == (
        "mpd:9",
        "Road trip",
        "windows down",
        False,
    )
    assert json.loads(record.extra) == {"collaborative": "false", "num_followers": 3}


def test_challenge_playlists_get_their_own_split(tmp_path):
    train = [
        {"pid": i, "tracks": [{"track_uri": "spotify:track:a"}, {"track_uri": "spotify:track:b"}]} for i in range(20)
    ]
    challenge = [
        {"pid": 1000 + i, "num_samples": 1, "num_holdouts": 5, "tracks": [{"track_uri": "spotify:track:z"}]}
        for i in range(3)
    ]
    slice_path = write_json(tmp_path / "mpd.slice.0-19.json", {"playlists": train})
    challenge_path = write_json(tmp_path / "challenge_set.json", {"version": "v1", "playlists": challenge})
    dataset = prepare([str(tmp_path)], tmp_path / "out", PrepareOptions(min_count=1), progress=False)

    assert dataset.info["statistics"]["splits"]["challenge"] == 3
    assert dataset.playlists_in("challenge").tolist() == [0, 1, 2]
    # Challenge tracks never enter the vocabulary, which comes from training playlists only.
    assert dataset.sequence(0).tolist() == [OOV]
    assert [source["path"] for source in dataset.info["sources"]] == [challenge_path, slice_path]


def test_later_file_fills_missing_metadata(tmp_path):
    bare = {"playlists": [{"pid": 1, "tracks": [{"track_uri": "spotify:track:a", "track_name": "A"}]}]}
    full_track = {"track_uri": "spotify:track:a", "track_name": "other", "album_name": "LP", "duration_ms": 5}
    rich = {"playlists": [{"pid": 2, "tracks": [full_track]}]}
    first = write_json(tmp_path / "mpd.slice.0-0.json", bare)
    second = write_json(tmp_path / "mpd.slice.1-1.json", rich)
    dataset = prepare([first, second], tmp_path / "out", PrepareOptions(min_count=1), progress=False)
    with dataset.catalog() as catalog:
        row = catalog.execute("SELECT name, album, duration_ms, count FROM tracks").fetchall()
    assert [tuple(r) for r in row] == [("A", "LP", 5, 2)]


def test_folder_files_in_natural_order(tmp_path):
    for start in (1000, 0, 20000):
        write_json(
            tmp_path / f"mpd.slice.{start}-{start + 999}.json",
            {"playlists": [{"pid": start, "tracks": [{"track_uri": "spotify:track:a"}]}]},
        )
    (tmp_path / "README.md").write_text("not data")
    dataset = prepare([str(tmp_path)], tmp_path / "out", progress=False)
    assert dataset.keys.tolist() == ["mpd:0", "mpd:1000", "mpd:20000"]


def test_min_count_and_max_vocab(tmp_path):
    # Track a appears 4 times, b 3 times, c twice, d once, all in training (no valid or test share).
    tracks = ["a", "a", "a", "a", "b", "b", "b", "c", "c", "d"]
    playlist = {"pid": 1, "tracks": [{"track_uri": f"spotify:track:{t}"} for t in tracks]}
    source = write_json(tmp_path / "mpd.slice.0-0.json", {"playlists": [playlist]})
    options = PrepareOptions(min_count=2, valid_frac=0, test_frac=0)
    dataset = prepare([source], tmp_path / "out", options, progress=False)
    assert dataset.vocabulary_size == 3
    assert dataset.sequence(0).tolist() == [2, 2, 2, 2, 3, 3, 3, 4, 4, OOV]
    assert dataset.sequence(0, full=True).tolist() == [2, 2, 2, 2, 3, 3, 3, 4, 4, 5]
    assert dataset.info["statistics"]["oov_rate"]["train"] == 0.1

    options = PrepareOptions(min_count=1, max_vocab=2, valid_frac=0, test_frac=0)
    dataset = prepare([source], tmp_path / "out", options, force=True, progress=False)
    assert dataset.vocabulary_size == 2
    assert dataset.sequence(0).tolist() == [2, 2, 2, 2, 3, 3, 3, OOV, OOV, OOV]


def test_workers_give_identical_dataset(tmp_path):
    for start in range(0, 40, 10):
        playlists = [
            {"pid": pid, "tracks": [{"track_uri": f"spotify:track:{(pid * 7 + k) % 13}"} for k in range(pid % 5 + 1)]}
            for pid in range(start, start + 10)
        ]
        write_json(tmp_path / f"mpd.slice.{start}-{start + 9}.json", {"playlists": playlists})
    one = prepare([str(tmp_path)], tmp_path / "one", PrepareOptions(min_count=1), progress=False)
    two = prepare([str(tmp_path)], tmp_path / "two", PrepareOptions(min_count=1, workers=2), progress=False)
    for name in ("tracks.npy", "tracks_full.npy", "offsets.npy", "splits.npy", "keys.npy"):
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes(), name
    assert one.info == two.info
    assert np.array_equal(one.lengths, [k % 5 + 1 for k in range(40)])


def test_fast_and_checked_paths_agree(tmp_path):
    """The typed fast path and the field-by-field checked path must read valid files identically."""
    from conftest import shared_path

    from segue.data.mpd import _read_checked

    sources = [shared_path("mpd-all-fields/mpd.slice.0-999.json"), shared_path("mpd-sample/mpd.slice.0-999.json")]
    edge_cases = {
        "playlists": [
            {
                "pid": 1,
                "name": "shuffled",
                "tracks": [
                    {"pos": 1, "track_uri": "spotify:track:b"},
                    {"pos": 0, "track_uri": "spotify:track:a", "duration_ms": 0},
                    {"pos": 2, "track_uri": "spotify:local:x"},
                ],
            },
            {"pid": "x9", "tracks": [], "num_holdouts": 3, "num_samples": 0, "collaborative": "true"},
            {"pid": 2, "description": "d", "tracks": [{"track_uri": None}, {"track_uri": "spotify:track:a"}]},
        ]
    }
    sources.append(tmp_path / "edge.json")
    sources[-1].write_text(json.dumps(edge_cases))

    for source in sources:
        fast = read_mpd_file(source)
        data = source.read_bytes()
        checked = _read_checked(str(source), data, len(data), fast.sha256, "raise")
        assert fast.uris == checked.uris, source
        assert fast.track_values == checked.track_values, source
        assert fast.rows.tolist() == checked.rows.tolist(), source
        assert fast.lengths.tolist() == checked.lengths.tolist(), source
        assert fast.playlists == checked.playlists, source
        assert dict(fast.dropped) == dict(checked.dropped), source

    edge = read_mpd_file(sources[-1])
    assert [edge.uris[i] for i in edge.rows] == ["spotify:track:a", "spotify:track:b", "spotify:track:a"]
    assert [p.challenge for p in edge.playlists] == [False, True, False]
    assert json.loads(edge.playlists[1].extra) == {"collaborative": "true", "num_samples": 0, "num_holdouts": 3}
