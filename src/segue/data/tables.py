"""Reader for playlists and listening logs stored as CSV, TSV or Parquet tables.

A column mapping names the columns of the playlist id, the track, and optionally the order,
title, artist, album and duration. A listening log maps its user column as the playlist column
and adds a time column: each user's plays are then cut into sessions wherever two plays are more
than a gap apart, and every session becomes a playlist.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from segue.data.mpd import LOCAL_PREFIX
from segue.data.records import MAX_SKIPPED_MESSAGES, TRACK_FIELDS, ParsedFile, PlaylistRecord, field_mask
from segue.errors import InputError, UserError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}


@dataclass(frozen=True)
class TableColumns:
    """Column mapping of a table; None leaves an optional column out."""

    playlist: str = "playlist_id"
    track: str = "track_uri"
    order: str | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration: str | None = None
    time: str | None = None
    session_gap: float = 30 * 60.0  # seconds

    def mapped(self) -> dict[str, str]:
        """Return option name -> column name for every mapped column."""
        names = {
            "--playlist-col": self.playlist,
            "--track-col": self.track,
            "--order-col": self.order,
            "--title-col": self.title,
            "--artist-col": self.artist,
            "--album-col": self.album,
            "--duration-col": self.duration,
            "--time-col": self.time,
        }
        return {option: column for option, column in names.items() if column is not None}


_GAP_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Parse a gap such as ``90s``, ``30m``, ``2h`` or ``1d`` (a bare number is seconds) into seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise UserError(f"invalid duration {text!r}: expected a number with an optional unit s, m, h or d, such as 30m")
    return float(match.group(1)) * _GAP_UNITS[match.group(2) or "s"]


def read_table_file(path: str | Path, columns: TableColumns, on_error: str = "raise") -> ParsedFile:
    """Parse one table into playlists (or sessions), keeping table order within a playlist unless
    an order or time column is mapped."""
    path = str(path)
    # Limitation: a table file is read into memory whole, because rows of one playlist or user
    # may be anywhere in it. A listening log must therefore fit in memory, unlike many MPD slices.
    data = Path(path).read_bytes()
    if not data.strip():
        raise InputError(path, "empty file")

    table, first_line = _read_arrow_table(path, data, columns)
    line_label = "row" if first_line == 0 else "line"
    row_numbers = np.arange(table.num_rows, dtype=np.int64) + first_line
    skipped: list[str] = []

    # Rows without a playlist id, order or time cannot be placed in any playlist.
    required = [columns.playlist] + [c for c in (columns.order, columns.time) if c is not None]
    valid = np.ones(table.num_rows, dtype=bool)
    for name in required:
        nulls = table[name].is_null().to_numpy(zero_copy_only=False)
        if nulls.any():
            first = int(row_numbers[np.argmax(nulls)])
            error = InputError(path, "empty value", f"{line_label} {first}", f"column {name!r}")
            if on_error != "skip":
                raise error
            skipped.extend(
                f"{path}: {line_label} {int(n)}: column {name!r}: empty value"
                for n in row_numbers[nulls & valid][: MAX_SKIPPED_MESSAGES - len(skipped)]
            )
            valid &= ~nulls
    if not valid.all():
        table = table.filter(pa.array(valid))
        row_numbers = row_numbers[valid]

    playlist_codes, playlist_values = _encode(table[columns.playlist])
    order = _row_order(path, table, columns, playlist_codes)
    playlist_codes = playlist_codes[order]
    row_numbers = row_numbers[order]
    table = table.take(pa.array(order))

    starts = _playlist_starts(path, table, columns, playlist_codes)
    keys = _playlist_keys(path, table, columns, playlist_codes, playlist_values, starts)

    # Drop plays with no usable track after grouping, so that a playlist of only local files stays.
    tracks = table[columns.track].cast(pa.string())
    dropped = {
        "empty_uri": (pc.fill_null(pc.equal(tracks, ""), True)).to_numpy(zero_copy_only=False),
        "local_file": pc.fill_null(pc.starts_with(tracks, LOCAL_PREFIX), False).to_numpy(zero_copy_only=False),
    }
    keep = ~(dropped["empty_uri"] | dropped["local_file"])
    dropped["invalid_row"] = ~valid
    playlist_of_row = np.repeat(np.arange(len(keys)), np.diff(np.append(starts, table.num_rows)))
    lengths = np.bincount(playlist_of_row[keep], minlength=len(keys)).astype(np.int64)

    usable = table.filter(pa.array(keep))
    track_codes, uris = _encode(usable[columns.track].cast(pa.string()))
    first_rows = _first_occurrence(track_codes, len(uris))
    track_values = _track_values(path, usable, columns, first_rows)

    return ParsedFile(
        path=path,
        kind="table",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uris=uris,
        track_values=track_values,
        field_masks=np.fromiter((field_mask(v) for v in track_values), dtype=np.uint8, count=len(track_values)),
        rows=track_codes.astype(np.int32),
        lengths=lengths,
        playlists=[PlaylistRecord(key=key) for key in keys],
        dropped={reason: int(mask.sum()) for reason, mask in dropped.items() if mask.any()},
        skipped=skipped,
    )


def _read_arrow_table(path: str, data: bytes, columns: TableColumns) -> tuple[pa.Table, int]:
    """Read the mapped columns; return the table and the file line (or row) number of its first row."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(path, f"unknown table format {suffix!r}: expected one of {', '.join(TABLE_SUFFIXES)}")
    requested = list(dict.fromkeys(columns.mapped().values()))

    if TABLE_SUFFIXES[suffix] is None:
        try:
            parquet = pq.ParquetFile(pa.BufferReader(data))
        except pa.ArrowException as error:
            raise InputError(path, f"invalid Parquet file: {error}") from None
        _check_columns(path, parquet.schema_arrow.names, columns)
        return parquet.read(columns=requested), 0

    delimiter = TABLE_SUFFIXES[suffix]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(path, f"line {line}: not valid UTF-8 (byte offset {error.start})") from None
    header = next(csv.reader(io.StringIO(text.partition("\n")[0]), delimiter=delimiter), [])
    _check_columns(path, header, columns)

    # Ids and names stay strings so that "007" keeps its zeros; order and time are inferred.
    text_columns = [columns.playlist, columns.track, columns.title, columns.artist, columns.album]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False if delimiter == "\t" else '"'),
            convert_options=pa_csv.ConvertOptions(
                include_columns=requested,
                column_types={name: pa.string() for name in text_columns if name is not None},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        raise InputError(path, f"invalid table: {error}") from None
    return table, 2


def _check_columns(path: str, found: list[str], columns: TableColumns) -> None:
    for option, name in columns.mapped().items():
        if name not in found:
            raise InputError(
                path, f"missing column {name!r} named by {option} (columns found: {', '.join(found) or 'none'})"
            )


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Return (codes, values) numbering distinct values in order of first appearance."""
    encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _row_order(path: str, table: pa.Table, columns: TableColumns, playlist_codes: np.ndarray) -> np.ndarray:
    """Return the row permutation that groups playlists in order of first appearance."""
    by_row = np.arange(table.num_rows)
    sort_column = columns.time or columns.order
    if sort_column is None:
        return np.lexsort((by_row, playlist_codes))
    values = _numeric(path, table, sort_column)
    return np.lexsort((by_row, values, playlist_codes))


def _numeric(path: str, table: pa.Table, name: str) -> np.ndarray:
    """Return a column as float64; timestamps become Unix seconds."""
    column = table[name]
    if pa.types.is_timestamp(column.type):
        seconds = pc.cast(column, pa.timestamp("s", tz=column.type.tz)).cast(pa.int64())
        return seconds.to_numpy().astype(np.float64)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy().astype(np.float64)
    raise InputError(
        path, f"must hold numbers or ISO 8601 timestamps, found {column.type} values", field=f"column {name!r}"
    )


def _playlist_starts(path: str, table: pa.Table, columns: TableColumns, codes: np.ndarray) -> np.ndarray:
    """Return the first row of every playlist (or session) in the grouped table."""
    new_group = np.ones(len(codes), dtype=bool)
    new_group[1:] = codes[1:] != codes[:-1]
    if columns.time is not None:
        times = _numeric(path, table, columns.time)
        new_group[1:] |= np.diff(times) > columns.session_gap
    return np.flatnonzero(new_group)


def _playlist_keys(
    path: str, table: pa.Table, columns: TableColumns, codes: np.ndarray, values: list[str], starts: np.ndarray
) -> list[str]:
    """Key each playlist by file name and id, and each session by user and start time, so that
    keys stay the same when other rows or files are added."""
    stem = Path(path).stem
    ids = [values[code] for code in codes[starts]]
    if columns.time is None:
        return [f"{stem}:{value}" for value in ids]
    times = _numeric(path, table, columns.time)[starts]
    return [
        f"{stem}:{value}@{datetime.fromtimestamp(time, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        for value, time in zip(ids, times)
    ]


def _first_occurrence(codes: np.ndarray, count: int) -> np.ndarray:
    first = np.full(count, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return first


def _track_values(path: str, table: pa.Table, columns: TableColumns, rows: np.ndarray) -> list[tuple]:
    """Return metadata tuples in TRACK_FIELDS order, from each track's first row."""
    picked = table.take(pa.array(rows))
    mapped = {"name": columns.title, "artist": columns.artist, "album": columns.album, "duration_ms": columns.duration}
    fields = []
    for field_name in TRACK_FIELDS:
        column = mapped.get(field_name)
        if column is None:
            fields.append([None] * len(rows))
        elif field_name == "duration_ms":
            if not (pa.types.is_integer(picked[column].type) or pa.types.is_floating(picked[column].type)):
                raise InputError(path, f"must hold numbers, found {picked[column].type} values", field=f"column {column!r}")
            fields.append([None if v is None else int(v) for v in picked[column].to_pylist()])
        else:
            fields.append(picked[column].cast(pa.string()).to_pylist())
    return list(zip(*fields))
