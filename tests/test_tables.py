"""The table reader: CSV, TSV and Parquet playlists, and listening logs cut into sessions."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segue.data import PrepareOptions, TableColumns, prepare
from segue.data.tables import parse_duration, read_table_file
from segue.errors import InputError


def sequences(parsed) -> list[list[str]]:
    result, start = [], 0
    for length in parsed.lengths.tolist():
        result.append([parsed.uris[i] for i in parsed.rows[start : start + length]])
        start += length
    return result


def test_csv_grouped_by_playlist_in_order_column(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text('pl,pos,track,title\nx,2,c,Cee\ny,0,a,Ay\nx,0,a,Ay\nx,1,b,"Bee, with comma"\n')
    columns = TableColumns(playlist="pl", track="track", order="pos", title="title")
    parsed = read_table_file(table, columns)
    assert [p.key for p in parsed.playlists] == ["lists:x", "lists:y"]
    assert sequences(parsed) == [["a", "b", "c"], ["a"]]
    assert dict(zip(parsed.uris, (v[0] for v in parsed.track_values))) == {
        "a": "Ay",
        "b": "Bee, with comma",
        "c": "Cee",
    }


def test_table_order_kept_without_order_column(tmp_path):
    table = tmp_path / "lists.tsv"
    table.write_text("playlist_id\ttrack_uri\n1\tb\n2\tz\n1\ta\n1\tb\n")
    parsed = read_table_file(table, TableColumns())
    assert sequences(parsed) == [["b", "a", "b"], ["z"]]


def test_ids_stay_strings(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text("playlist_id,track_uri\n007,0042\n7,42\n")
    parsed = read_table_file(table, TableColumns())
    assert [p.key for p in parsed.playlists] == ["lists:007", "lists:7"]
    assert parsed.uris == ["0042", "42"]


def test_parquet_with_duration_and_local_files(tmp_path):
    path = tmp_path / "lists.parquet"
    pq.write_table(
        pa.table(
            {
                "pid": [1, 1, 1, 2],
                "uri": ["spotify:track:a", "spotify:local:x", None, "spotify:track:a"],
                "ms": [1000, 5, 6, 1000],
                "album": ["LP", None, None, "LP"],
            }
        ),
        path,
    )
    columns = TableColumns(playlist="pid", track="uri", duration="ms", album="album")
    parsed = read_table_file(path, columns)
    assert sequences(parsed) == [["spotify:track:a"], ["spotify:track:a"]]
    assert parsed.track_values == [(None, None, "LP", 1000, None, None)]
    assert parsed.dropped == {"local_file": 1, "empty_uri": 1}


def test_listening_log_split_into_sessions(tmp_path):
    log = tmp_path / "plays.csv"
    log.write_text(
        "user,ts,track\n"
        "u1,2024-01-01T10:00:00Z,a\n"
        "u2,2024-01-01T10:01:00Z,x\n"
        "u1,2024-01-01T10:04:00Z,b\n"
        "u1,2024-01-01T11:00:00Z,c\n"  # 56 minutes after b: a new session
        "u1,2024-01-01T10:02:00Z,z\n"  # out of order in the file, between a and b in time
    )
    columns = TableColumns(playlist="user", track="track", time="ts", session_gap=parse_duration("30m"))
    parsed = read_table_file(log, columns)
    assert [p.key for p in parsed.playlists] == [
        "plays:u1@2024-01-01T10:00:00Z",
        "plays:u1@2024-01-01T11:00:00Z",
        "plays:u2@2024-01-01T10:01:00Z",
    ]
    assert sequences(parsed) == [["a", "z", "b"], ["c"], ["x"]]


def test_unix_seconds_log_with_short_gap(tmp_path):
    log = tmp_path / "plays.tsv"
    log.write_text("user\tts\ttrack\nu\t100\ta\nu\t150\tb\nu\t400\tc\n")
    columns = TableColumns(playlist="user", track="track", time="ts", session_gap=parse_duration("2m"))
    parsed = read_table_file(log, columns)
    assert sequences(parsed) == [["a", "b"], ["c"]]
    assert parsed.playlists[1].key == "plays:u@1970-01-01T00:06:40Z"


def test_time_column_must_be_times(tmp_path):
    log = tmp_path / "plays.csv"
    log.write_text("user,ts,track\nu,100,a\n\nu,yesterday,b\n")
    with pytest.raises(InputError) as raised:
        read_table_file(log, TableColumns(playlist="user", track="track", time="ts"))
    assert str(raised.value) == f"{log}: line 4: column 'ts': expected a number or an ISO 8601 time, found 'yesterday'"


def test_invalid_rows_skipped_and_counted(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text("playlist_id,pos,track_uri\n1,0,a\n1,x,b\n,2,c\n1,3,d,extra\n1,4,e\n")
    parsed = read_table_file(table, TableColumns(order="pos"), on_error="skip")
    assert sequences(parsed) == [["a", "e"]]
    assert parsed.dropped == {"invalid_row": 3}
    assert parsed.skipped == [
        f"{table}: line 5: expected 3 fields, found 4",
        f"{table}: line 4: column 'playlist_id': empty value",
        f"{table}: line 3: column 'pos': expected a number or an ISO 8601 time, found 'x'",
    ]


def test_malformed_row_names_its_line(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text("playlist_id,track_uri\n1,a\n1\n")
    with pytest.raises(InputError) as raised:
        read_table_file(table, TableColumns())
    assert str(raised.value) == f"{table}: line 3: expected 2 fields, found 1"


def test_mixed_iso_formats_and_dates(tmp_path):
    log = tmp_path / "plays.csv"
    log.write_text("user,ts,track\nu,2024-01-01T10:00:00Z,a\nu,2024-01-01 11:20:00+01:00,b\nu,2024-01-01T10:40,c\n")
    parsed = read_table_file(log, TableColumns(playlist="user", track="track", time="ts"))
    # 10:00Z, then 10:20Z (11:20+01:00), then 10:40 (no zone, read as UTC): one session.
    assert sequences(parsed) == [["a", "b", "c"]]


def test_millisecond_times(tmp_path):
    log = tmp_path / "plays.csv"
    log.write_text("user,ts,track\nu,1700000000000,a\nu,1700000060000,b\n")
    with pytest.raises(InputError) as raised:
        read_table_file(log, TableColumns(playlist="user", track="track", time="ts"))
    assert str(raised.value) == (
        f"{log}: line 2: column 'ts': value out of range (milliseconds? pass --time-unit ms): 1700000000000"
    )
    parsed = read_table_file(log, TableColumns(playlist="user", track="track", time="ts", time_unit="ms"))
    assert [p.key for p in parsed.playlists] == ["plays:u@2023-11-14T22:13:20Z"]
    assert sequences(parsed) == [["a", "b"]]


def test_byte_order_mark_ignored(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_bytes(b"\xef\xbb\xbfplaylist_id,track_uri\n1,a\n")
    parsed = read_table_file(table, TableColumns())
    assert sequences(parsed) == [["a"]]


def test_parquet_rows_numbered_from_one(tmp_path):
    path = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"playlist_id": ["1", None], "track_uri": ["a", "b"]}), path)
    with pytest.raises(InputError) as raised:
        read_table_file(path, TableColumns())
    assert str(raised.value) == f"{path}: row 2: column 'playlist_id': empty value"


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("30m", 1800), ("1.5h", 5400), ("2d", 172800)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_table_through_prepare(tmp_path):
    table = tmp_path / "lists.csv"
    rows = "".join(f"{p},{t}\n" for p in range(30) for t in ("a", "b", "c"))
    table.write_text("playlist_id,track_uri\n" + rows)
    dataset = prepare([str(table)], tmp_path / "out", PrepareOptions(min_count=1), progress=False)
    assert dataset.num_playlists == 30
    assert dataset.vocabulary_size == 3
    assert dataset.keys[0] == "lists:0"


def test_quoted_line_break_in_csv(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text('playlist_id,track_uri,title,pos\n1,a,"two\nlines",0\n1,b,ok,1\n1,c,ok,x\n')
    columns = TableColumns(order="pos", title="title")
    with pytest.raises(InputError) as raised:
        read_table_file(table, columns)
    # The line break shifts line numbers, so the error names the record instead.
    assert str(raised.value) == f"{table}: record 3: column 'pos': expected a number or an ISO 8601 time, found 'x'"

    parsed = read_table_file(table, columns, on_error="skip")
    assert sequences(parsed) == [["a", "b"]]
    assert parsed.track_values[0][0] == "two\nlines"


def test_invalid_durations_rejected(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text("playlist_id,track_uri,ms\n1,a,100\n1,b,-5\n1,c,abc\n1,d,\n")
    columns = TableColumns(duration="ms")
    with pytest.raises(InputError) as raised:
        read_table_file(table, columns)
    assert (
        str(raised.value) == f"{table}: line 3: column 'ms': expected a non-negative number of milliseconds, found '-5'"
    )

    parsed = read_table_file(table, columns, on_error="skip")
    assert sequences(parsed) == [["a", "d"]]
    assert [values[3] for values in parsed.track_values] == [100, None]
    assert parsed.dropped == {"invalid_row": 2}


def test_repeated_order_value_rejected(tmp_path):
    table = tmp_path / "lists.csv"
    table.write_text("playlist_id,track_uri,pos\n1,a,0\n1,b,0\n2,c,0\n")
    with pytest.raises(InputError) as raised:
        read_table_file(table, TableColumns(order="pos"))
    assert str(raised.value) == f"{table}: line 3: column 'pos': repeats a position of the same playlist: 0"
    parsed = read_table_file(table, TableColumns(order="pos"), on_error="skip")
    assert sequences(parsed) == [["a"], ["c"]]
