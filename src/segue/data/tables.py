"""Reader for playlists and listening logs stored as CSV, TSV or Parquet tables.

A column mapping names the columns of the playlist id, the track, and optionally the order,
title, artist, album and duration. A listening log maps its user column as the playlist column
and adds a time column: each user's plays are then cut into sessions wherever two plays are more
than a gap apart, and every session becomes a playlist.
"""

from __future__ import annotations

import codecs
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
from segue.data.records import MAX_SKIPPED_MESSAGES, TRACK_FIELDS, ParsedFile, PlaylistRecord
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
    time_unit: str = "s"  # unit of numeric play times: "s" or "ms"
    session_gap: float = 30 * 60.0  # seconds

    @property
    def time_scale(self) -> float:
        """Seconds per unit of a numeric time column."""
        return {"s": 1.0, "ms": 1e-3}[self.time_unit]

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

    rejected = _RejectedRows(path, on_error)
    table, row_numbers = _read_arrow_table(path, data, columns, rejected)

    # Rows without a playlist id, or with no usable order or time, fit in no playlist.
    valid = ~table[columns.playlist].is_null().to_numpy(zero_copy_only=False)
    rejected.add(row_numbers[~valid], f"column {columns.playlist!r}: empty value")
    sort_keys = {}
    for name, time_scale in ((columns.order, None), (columns.time, columns.time_scale)):
        if name is not None:
            sort_keys[name], bad = _column_numbers(table[name], name, row_numbers, rejected, time_scale)
            valid &= ~bad
    if columns.duration is not None:
        durations, bad = _durations(table[columns.duration], columns.duration, row_numbers, rejected)
        table = table.set_column(table.schema.get_field_index(columns.duration), columns.duration, durations)
        valid &= ~bad
    if not valid.all():
        table = table.filter(pa.array(valid))
        row_numbers = row_numbers[valid]
        sort_keys = {name: values[valid] for name, values in sort_keys.items()}

    playlist_codes, playlist_values = _encode(table[columns.playlist])
    sort_values = sort_keys.get(columns.time, sort_keys.get(columns.order))
    by_row = np.arange(table.num_rows)
    if sort_values is None:
        order = np.lexsort((by_row, playlist_codes))
    else:
        order = np.lexsort((by_row, sort_values, playlist_codes))
        sort_values = sort_values[order]
        if columns.time is None:
            order, sort_values = _drop_repeated_positions(
                order, sort_values, playlist_codes, row_numbers, columns, rejected
            )
    playlist_codes = playlist_codes[order]
    table = table.take(pa.array(order))

    times = sort_values if columns.time is not None else None
    starts = _playlist_starts(playlist_codes, times, columns.session_gap)
    keys = _playlist_keys(path, playlist_codes, playlist_values, starts, times)

    # Drop plays with no usable track after grouping, so that a playlist of only local files stays.
    tracks = table[columns.track].cast(pa.string())
    empty = pc.fill_null(pc.equal(tracks, ""), True).to_numpy(zero_copy_only=False)
    local = pc.fill_null(pc.starts_with(tracks, LOCAL_PREFIX), False).to_numpy(zero_copy_only=False)
    keep = ~(empty | local)
    playlist_of_row = np.repeat(np.arange(len(keys)), np.diff(np.append(starts, table.num_rows)))
    lengths = np.bincount(playlist_of_row[keep], minlength=len(keys)).astype(np.int64)

    usable = table.filter(pa.array(keep))
    track_codes, uris = _encode(usable[columns.track].cast(pa.string()))
    first_rows = _first_occurrence(track_codes, len(uris))
    track_values = _track_values(path, usable, columns, first_rows)

    dropped = {"empty_uri": int(empty.sum()), "local_file": int(local.sum()), "invalid_row": rejected.count}
    return ParsedFile(
        path=path,
        kind="table",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uris=uris,
        track_values=track_values,
        rows=track_codes.astype(np.int32),
        lengths=lengths,
        playlists=[PlaylistRecord(key=key) for key in keys],
        dropped={reason: count for reason, count in dropped.items() if count},
        skipped=rejected.messages,
    )


class _RejectedRows:
    """Invalid rows: the first raises in "raise" mode; in "skip" mode they are counted."""

    def __init__(self, path: str, on_error: str) -> None:
        self.path = path
        self.on_error = on_error
        self.count = 0
        self.messages: list[str] = []
        self.label = "line"

    def add(self, numbers: np.ndarray, message: str, values: list | None = None) -> None:
        if len(numbers) == 0:
            return
        if self.on_error != "skip":
            detail = message if values is None else f"{message} {values[0]!r}"
            raise InputError(self.path, detail, f"{self.label} {int(numbers[0])}")
        self.count += len(numbers)
        for index in range(min(len(numbers), MAX_SKIPPED_MESSAGES - len(self.messages))):
            detail = message if values is None else f"{message} {values[index]!r}"
            self.messages.append(f"{self.path}: {self.label} {int(numbers[index])}: {detail}")


def _read_arrow_table(
    path: str, data: bytes, columns: TableColumns, rejected: _RejectedRows
) -> tuple[pa.Table, np.ndarray]:
    """Read the mapped columns; return the table and each row's line number (row number for Parquet)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(path, f"unknown table format {suffix!r}: expected one of {', '.join(TABLE_SUFFIXES)}")
    requested = list(dict.fromkeys(columns.mapped().values()))

    if TABLE_SUFFIXES[suffix] is None:
        rejected.label = "row"
        try:
            parquet = pq.ParquetFile(pa.BufferReader(data))
        except pa.ArrowException as error:
            raise InputError(path, f"invalid Parquet file: {error}") from None
        _check_columns(path, parquet.schema_arrow.names, columns)
        table = parquet.read(columns=requested)
        return table, np.arange(1, table.num_rows + 1, dtype=np.int64)

    delimiter = TABLE_SUFFIXES[suffix]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(path, f"line {line}: not valid UTF-8 (byte offset {error.start})") from None
    header = next(csv.reader(io.StringIO(text.partition("\n")[0]), delimiter=delimiter), [])
    _check_columns(path, header, columns)

    # A row with the wrong number of fields is rejected with its line number.
    malformed_lines: list[int] = []
    raise_later: list[InputError] = []

    def on_invalid_row(row) -> str:
        malformed_lines.append(row.number)
        message = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        if rejected.on_error != "skip":
            raise_later.append(InputError(path, message, f"line {row.number}"))
            return "error"
        rejected.add(np.array([row.number]), message)
        return "skip"

    # Every column but the duration is read as text: ids keep leading zeros, and order and time
    # values are parsed later so that a bad value is reported with its line even deep in a file.
    # Threads are off because pyarrow 26.0.1 aborted the process at exit after conversion errors.
    text_columns = [columns.playlist, columns.track, columns.title, columns.artist, columns.album]
    text_columns += [columns.order, columns.time, columns.duration]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char=False if delimiter == "\t" else '"',
                newlines_in_values=True,
                invalid_row_handler=on_invalid_row,
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=requested,
                column_types={name: pa.string() for name in text_columns if name is not None},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        if raise_later:
            raise raise_later[0] from None
        raise InputError(path, f"invalid table: {error}") from None

    # While every record is one line, data rows are the non-blank lines after the header, less
    # the malformed ones. A quoted field with a line break breaks that count, and then errors
    # name the record number instead.
    lines = _nonblank_line_numbers(data)[1:]
    if malformed_lines:
        lines = lines[~np.isin(lines, malformed_lines)]
    if len(lines) != table.num_rows:
        rejected.label = "record"
        lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return table, lines


def _nonblank_line_numbers(data: bytes) -> np.ndarray:
    """Return the 1-based numbers of the lines that hold more than whitespace."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(buffer == ord("\n"))
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    printable = np.cumsum(np.concatenate(([0], buffer > ord(" "))))
    return np.flatnonzero(printable[ends] - printable[starts] > 0) + 1


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


_TIMESTAMP_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_LATEST_TIME = datetime(9999, 12, 31, tzinfo=timezone.utc).timestamp()


def _column_numbers(
    column: pa.ChunkedArray, name: str, row_numbers: np.ndarray, rejected: _RejectedRows, time_scale: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return an order or time column as float64 and a mask of invalid rows.

    For a time column, numbers are multiplied by ``time_scale`` to give Unix seconds; for an order
    column ``time_scale`` is None. Timestamps, dates and ISO 8601 strings become Unix seconds.
    """
    scale = 1.0 if time_scale is None else time_scale
    values = np.zeros(len(column), dtype=np.float64)
    texts = None
    bad = column.is_null().to_numpy(zero_copy_only=False).copy()
    rejected.add(row_numbers[bad], f"column {name!r}: empty value")
    kind = column.type

    if pa.types.is_timestamp(kind):
        raw = column.cast(pa.int64()).fill_null(0).to_numpy()
        values = raw.astype(np.float64) * _TIMESTAMP_UNITS[kind.unit]
    elif pa.types.is_date32(kind):
        values = column.cast(pa.int32()).fill_null(0).to_numpy().astype(np.float64) * 86400.0
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = column.fill_null(0).to_numpy().astype(np.float64) * scale
    else:
        try:
            numbers = pc.cast(column, pa.float64())
            values = numbers.fill_null(0).to_numpy().astype(np.float64) * scale
        except pa.ArrowInvalid:
            texts = column.cast(pa.string()).to_pylist()

    if texts is not None:
        unreadable = []
        for index, text in enumerate(texts):
            if text is None:
                continue
            parsed = _parse_number_or_time(text, scale)
            if parsed is None:
                unreadable.append(index)
            else:
                values[index] = parsed
        unreadable = np.asarray(unreadable, dtype=np.int64)
        bad[unreadable] = True
        rejected.add(
            row_numbers[unreadable],
            f"column {name!r}: expected a number or an ISO 8601 time, found",
            [texts[i] for i in unreadable.tolist()],
        )

    # NaN, infinities and times past year 9999 (often milliseconds read as seconds) fit nowhere.
    out_of_range = ~bad & ~(np.abs(values) <= _LATEST_TIME)
    hint = " (milliseconds? pass --time-unit ms)" if time_scale == 1.0 else ""
    rejected.add(
        row_numbers[out_of_range],
        f"column {name!r}: value out of range{hint}:",
        [_plain_number(v) for v in values[out_of_range].tolist()],
    )
    return values, bad | out_of_range


def _drop_repeated_positions(
    order: np.ndarray,
    positions: np.ndarray,
    playlist_codes: np.ndarray,
    row_numbers: np.ndarray,
    columns: TableColumns,
    rejected: _RejectedRows,
) -> tuple[np.ndarray, np.ndarray]:
    """Reject rows whose order value repeats one of the same playlist, which leaves the order a guess."""
    codes = playlist_codes[order]
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] = (codes[1:] == codes[:-1]) & (positions[1:] == positions[:-1])
    if not repeated.any():
        return order, positions
    rejected.add(
        row_numbers[order[repeated]],
        f"column {columns.order!r}: repeats a position of the same playlist:",
        [_plain_number(value) for value in positions[repeated].tolist()],
    )
    return order[~repeated], positions[~repeated]


def _durations(
    column: pa.ChunkedArray, name: str, row_numbers: np.ndarray, rejected: _RejectedRows
) -> tuple[pa.Array, np.ndarray]:
    """Return a duration column as int64 milliseconds (null where empty) and a mask of invalid rows."""
    missing = column.is_null().to_numpy(zero_copy_only=False)
    texts = column.cast(pa.string()).to_pylist()
    values = np.zeros(len(texts), dtype=np.int64)
    bad = np.zeros(len(texts), dtype=bool)
    for index, text in enumerate(texts):
        if text is None:
            continue
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if not 0 <= number < 2**62:
            bad[index] = True
        else:
            values[index] = int(number)
    rejected.add(
        row_numbers[bad],
        f"column {name!r}: expected a non-negative number of milliseconds, found",
        [texts[i] for i in np.flatnonzero(bad).tolist()],
    )
    return pa.array(values, mask=missing | bad), bad


def _plain_number(value: float) -> int | float:
    """Return a whole float as an int, so that messages show 1500000000000 rather than 1.5e12."""
    return int(value) if value == value and abs(value) != float("inf") and value.is_integer() else value


def _parse_number_or_time(text: str, scale: float) -> float | None:
    try:
        return float(text) * scale
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _playlist_starts(codes: np.ndarray, times: np.ndarray | None, session_gap: float) -> np.ndarray:
    """Return the first row of every playlist, or of every session when play times are given."""
    new_group = np.ones(len(codes), dtype=bool)
    new_group[1:] = codes[1:] != codes[:-1]
    if times is not None:
        new_group[1:] |= np.diff(times) > session_gap
    return np.flatnonzero(new_group)


def _playlist_keys(
    path: str, codes: np.ndarray, values: list[str], starts: np.ndarray, times: np.ndarray | None
) -> list[str]:
    """Key each playlist by file name and id, and each session by user and start time, so that
    keys stay the same when other rows or files are added."""
    stem = Path(path).stem
    ids = [values[code] for code in codes[starts].tolist()]
    if times is None:
        return [f"{stem}:{value}" for value in ids]
    return [
        f"{stem}:{value}@{datetime.fromtimestamp(time, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        for value, time in zip(ids, times[starts].tolist())
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
            fields.append(picked[column].to_pylist())
        else:
            fields.append(picked[column].cast(pa.string()).to_pylist())
    return list(zip(*fields))
