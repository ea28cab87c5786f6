"""Every kind of invalid input: one clear line naming file, playlist and field, status 2, nothing on disk."""

from __future__ import annotations

import json

import pytest

from segue.cli import main


def write_slice(path, playlists) -> str:
    path.write_text(json.dumps({"info": {"slice": "0-1"}, "playlists": playlists}))
    return str(path)


def good_playlist(pid=1):
    return {"pid": pid, "name": "ok", "tracks": [{"track_uri": "spotify:track:a"}, {"track_uri": "spotify:track:b"}]}


def run_prepare(capsys, *arguments):
    status = main(["prepare", "--quiet", *map(str, arguments)])
    errors = capsys.readouterr().err.strip().splitlines()
    return status, errors


DUPLICATE_HINT = (
    "; a playlist id may occur in one file only, so prepare sources with overlapping ids separately, "
    "or pass --on-error skip to keep the first"
)


def assert_nothing_left(folder):
    leftovers = [p.name for p in folder.iterdir() if p.name == "out" or p.name.startswith(".out.")]
    assert leftovers == []


BAD_JSON = [
    ("truncated.json", b'{"playlists": [{"pid": 1, "tracks": [', "mpd.slice.0-1.json: line 1: truncated JSON"),
    ("invalid.json", b'{"playlists": [}\n', "mpd.slice.0-1.json: line 1 column 16: invalid JSON"),
    ("latin1.json", '{"playlists": [{"pid": 1, "name": "Café"\n'.encode("latin-1"), "line 1: not valid UTF-8"),
    ("empty.json", b"", "mpd.slice.0-1.json: empty file"),
    ("blank.json", b"  \n", "mpd.slice.0-1.json: empty file"),
    ("no_playlists.json", b'{"info": {}}', "mpd.slice.0-1.json: missing field 'playlists'"),
    ("list_top.json", b"[1, 2]", "expected a JSON object with 'playlists', found a list"),
    ("playlists_string.json", b'{"playlists": "none"}', "mpd.slice.0-1.json: playlists: must be a list, not a string"),
]


@pytest.mark.parametrize("name, content, expected", BAD_JSON, ids=[case[0] for case in BAD_JSON])
def test_invalid_json_file(tmp_path, capsys, name, content, expected):
    source = tmp_path / "mpd.slice.0-1.json"
    source.write_bytes(content)
    status, errors = run_prepare(capsys, source, "--out", tmp_path / "out")
    assert status == 2
    assert len(errors) == 1
    assert expected in errors[0]
    assert errors[0].startswith(f"segue prepare: error: {source}")
    assert_nothing_left(tmp_path)


BAD_PLAYLISTS = [
    ("no tracks", {"pid": 7, "name": "x"}, "playlist 1 (pid 7): missing field 'tracks'"),
    ("no pid", {"tracks": []}, "playlist 1: missing field 'pid'"),
    ("tracks string", {"pid": 7, "tracks": "abc"}, "playlist 1 (pid 7): tracks: must be a list, not a string"),
    ("playlist list", [1], "playlist 1: must be an object, not a list"),
    (
        "track without uri",
        {"pid": 7, "tracks": [{"track_uri": "spotify:track:a"}, {"track_name": "x"}]},
        "playlist 1 (pid 7): tracks[1]: missing field 'track_uri'",
    ),
    (
        "uri number",
        {"pid": 7, "tracks": [{"track_uri": 5}]},
        "playlist 1 (pid 7): tracks[0].track_uri: must be a string, not an integer",
    ),
    (
        "track string",
        {"pid": 7, "tracks": ["spotify:track:a"]},
        "playlist 1 (pid 7): tracks[0]: must be an object, not a string",
    ),
    (
        "duration string",
        {"pid": 7, "tracks": [{"track_uri": "spotify:track:a", "duration_ms": "3:20"}]},
        "playlist 1 (pid 7): tracks[0].duration_ms: must be an integer, not a string",
    ),
    (
        "negative duration",
        {"pid": 7, "tracks": [{"track_uri": "spotify:track:a", "duration_ms": -5}]},
        "playlist 1 (pid 7): tracks[0].duration_ms: must not be negative, found -5",
    ),
    (
        "repeated pos",
        {"pid": 7, "tracks": [{"track_uri": "spotify:track:a", "pos": 0}, {"track_uri": "spotify:track:b", "pos": 0}]},
        "playlist 1 (pid 7): tracks[1].pos: repeats pos 0",
    ),
    (
        "name list",
        {"pid": 7, "name": ["a"], "tracks": []},
        "playlist 1 (pid 7): name: must be a string, not a list",
    ),
    (
        "partial pos",
        {"pid": 7, "tracks": [{"track_uri": "spotify:track:a", "pos": 0}, {"track_uri": "spotify:track:b"}]},
        "playlist 1 (pid 7): tracks[1]: missing field 'pos' while other tracks have one",
    ),
]


@pytest.mark.parametrize("name, playlist, expected", BAD_PLAYLISTS, ids=[case[0] for case in BAD_PLAYLISTS])
def test_invalid_playlist(tmp_path, capsys, name, playlist, expected):
    source = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(), playlist])
    status, errors = run_prepare(capsys, source, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [f"segue prepare: error: {source}: {expected}"]
    assert_nothing_left(tmp_path)


def test_invalid_playlist_skipped_and_counted(tmp_path, caplog):
    playlists = [good_playlist(1), {"pid": 2, "tracks": "abc"}, good_playlist(3), {"pid": 4}]
    playlists[1]["tracks"] = [{"track_uri": "spotify:track:only-here"}, {"no": "uri"}]
    source = write_slice(tmp_path / "mpd.slice.0-1.json", playlists)
    broken = tmp_path / "mpd.slice.2-3.json"
    broken.write_bytes(b'{"playlists": [')
    out = tmp_path / "out"

    status = main(
        ["prepare", "--quiet", source, str(broken), "--out", str(out), "--on-error", "skip", "--min-count", "1"]
    )
    assert status == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["dropped"] == {"invalid_file": 1, "invalid_playlist": 2}
    assert info["skipped_files"] == [
        {"path": str(broken), "error": f"{broken}: line 1: truncated JSON: unexpected end of data"}
    ]
    assert info["statistics"]["playlists"] == 2
    # The skipped playlist's track must not count as a distinct track.
    assert info["statistics"]["distinct_tracks"] == 2
    skipped = [record.getMessage() for record in caplog.records if record.getMessage().startswith("skipped:")]
    assert len(skipped) == 3
    assert skipped[0] == f"skipped: {source}: playlist 1 (pid 2): tracks[1]: missing field 'track_uri'"
    assert skipped[1] == f"skipped: {source}: playlist 3 (pid 4): missing field 'tracks'"
    assert skipped[2] == f"skipped: {broken}: line 1: truncated JSON: unexpected end of data"


def test_folder_without_matching_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    status, errors = run_prepare(capsys, tmp_path, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [
        f"segue prepare: error: {tmp_path}: no mpd.slice.*.json, challenge_set.json, .csv, .tsv or .parquet "
        "files in this folder"
    ]
    assert_nothing_left(tmp_path)


def test_missing_source(tmp_path, capsys):
    status, errors = run_prepare(capsys, tmp_path / "nowhere", "--out", tmp_path / "out")
    assert status == 2
    assert errors == [f"segue prepare: error: {tmp_path / 'nowhere'}: not found"]


def test_table_missing_mapped_column(tmp_path, capsys):
    table = tmp_path / "plays.tsv"
    table.write_text("playlist_id\tpos\tsong_id\n0\t0\t5\n")
    status, errors = run_prepare(
        capsys, table, "--out", tmp_path / "out", "--track-col", "song_id", "--title-col", "title"
    )
    assert status == 2
    assert errors == [
        f"segue prepare: error: {table}: missing column 'title' named by --title-col "
        "(columns found: playlist_id, pos, song_id)"
    ]
    assert_nothing_left(tmp_path)


def test_table_not_utf8(tmp_path, capsys):
    table = tmp_path / "plays.csv"
    table.write_bytes("playlist_id,track_uri\n1,a\n1,Beyoncé\n".encode("latin-1"))
    status, errors = run_prepare(capsys, table, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [f"segue prepare: error: {table}: line 3: not valid UTF-8 (byte offset 34)"]


def test_empty_table(tmp_path, capsys):
    table = tmp_path / "plays.csv"
    table.write_text("")
    status, errors = run_prepare(capsys, table, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [f"segue prepare: error: {table}: empty file"]


def test_table_empty_playlist_id(tmp_path, capsys):
    table = tmp_path / "plays.csv"
    table.write_text("playlist_id,track_uri\n1,a\n,b\n")
    status, errors = run_prepare(capsys, table, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [f"segue prepare: error: {table}: line 3: column 'playlist_id': empty value"]

    status = main(["prepare", "--quiet", str(table), "--out", str(tmp_path / "out"), "--on-error", "skip"])
    assert status == 0
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["dropped"] == {"invalid_row": 1}
    assert info["statistics"]["track_rows"] == 1


def test_duplicate_playlist_key(tmp_path, capsys):
    first = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1)])
    second = write_slice(tmp_path / "mpd.slice.2-3.json", [good_playlist(1)])
    status, errors = run_prepare(capsys, first, second, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [
        f"segue prepare: error: {second}: duplicate playlist key 'mpd:1' (also in {first}){DUPLICATE_HINT}"
    ]
    assert_nothing_left(tmp_path)


def test_duplicate_key_within_file(tmp_path, capsys):
    source = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1), good_playlist(2), good_playlist(1)])
    status, errors = run_prepare(capsys, source, "--out", tmp_path / "out")
    assert status == 2
    assert errors == [
        f"segue prepare: error: {source}: duplicate playlist key 'mpd:1' (twice in this file){DUPLICATE_HINT}"
    ]

    status = main(["prepare", "--quiet", source, "--out", str(tmp_path / "out"), "--on-error", "skip"])
    assert status == 0
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["dropped"] == {"duplicate_playlist": 1}
    assert info["statistics"]["playlists"] == 2
    assert info["statistics"]["track_rows"] == 4


def test_existing_output_needs_force(tmp_path, capsys):
    source = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1)])
    out = tmp_path / "out"
    assert main(["prepare", "--quiet", source, "--out", str(out), "--min-count", "1"]) == 0
    first = (out / "tracks.npy").stat().st_mtime_ns

    status, errors = run_prepare(capsys, source, "--out", out)
    assert status == 2
    assert errors == [f"segue prepare: error: {out}: already exists; pass --force to replace it"]
    assert (out / "tracks.npy").stat().st_mtime_ns == first

    assert main(["prepare", "--quiet", source, "--out", str(out), "--force", "--min-count", "1"]) == 0
    assert (out / "dataset.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mpd.slice.0-1.json", "out"]


def test_force_never_replaces_other_folders(tmp_path, capsys):
    source = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1)])
    thesis = tmp_path / "work"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("mine")
    status, errors = run_prepare(capsys, source, "--out", thesis, "--force")
    assert status == 2
    assert errors == [
        f"segue prepare: error: {thesis}: not a Segue dataset folder (dataset.json not found), and --force replaces only those; "
        "remove it yourself or choose another --out"
    ]
    assert (thesis / "thesis.txt").read_text() == "mine"

    plain_file = tmp_path / "notes.txt"
    plain_file.write_text("mine")
    status, _ = run_prepare(capsys, source, "--out", plain_file, "--force")
    assert status == 2
    assert plain_file.read_text() == "mine"


def test_output_must_not_contain_sources(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    source = write_slice(data / "mpd.slice.0-1.json", [good_playlist(1)])
    status, errors = run_prepare(capsys, data, "--out", data, "--force")
    assert status == 2
    assert errors == [f"segue prepare: error: {data}: contains the source {source}; choose another --out"]
    assert (data / "mpd.slice.0-1.json").exists()

    monkeypatch.chdir(data)
    status, errors = run_prepare(capsys, source, "--out", tmp_path, "--force")
    assert status == 2
    assert errors == [f"segue prepare: error: {tmp_path}: contains the source {source}; choose another --out"]
    (data / "other").mkdir()
    monkeypatch.chdir(data / "other")
    status, errors = run_prepare(capsys, source, "--out", ".", "--force")
    assert status == 2
    assert errors == ["segue prepare: error: .: is the current folder or contains it; choose another --out"]


def test_failed_force_keeps_old_output(tmp_path, capsys):
    good = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1)])
    out = tmp_path / "out"
    assert main(["prepare", "--quiet", good, "--out", str(out)]) == 0
    broken = tmp_path / "broken" / "mpd.slice.0-1.json"
    broken.parent.mkdir()
    broken.write_text("{")

    status, errors = run_prepare(capsys, broken, "--out", out, "--force")
    assert status == 2
    assert (out / "dataset.json").exists()


def test_missing_parent_folders_removed_on_failure(tmp_path, capsys):
    source = tmp_path / "mpd.slice.0-1.json"
    source.write_text("{")
    status, _ = run_prepare(capsys, source, "--out", tmp_path / "new" / "deeper" / "out")
    assert status == 2
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--min-count", "0", "--min-count must be at least 1, got 0"),
        ("--test-frac", "1.5", "--test-frac must be in [0, 1), got 1.5"),
        ("--session-gap", "soon", "--session-gap: invalid duration 'soon'"),
        ("--workers", "0", "--workers must be at least 1, got 0"),
    ],
)
def test_invalid_option(tmp_path, capsys, option, value, expected):
    source = write_slice(tmp_path / "mpd.slice.0-1.json", [good_playlist(1)])
    status, errors = run_prepare(capsys, source, "--out", tmp_path / "out", option, value)
    assert status == 2
    assert len(errors) == 1
    assert expected in errors[0]
    assert_nothing_left(tmp_path)


def test_json_byte_order_mark_accepted(tmp_path, capsys):
    source = tmp_path / "mpd.slice.0-1.json"
    source.write_bytes(b"\xef\xbb\xbf" + json.dumps({"playlists": [good_playlist(1)]}).encode())
    status, errors = run_prepare(capsys, source, "--out", tmp_path / "out", "--min-count", "1")
    assert status == 0
    assert errors == []
