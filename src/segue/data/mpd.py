"""Reader for Million Playlist Dataset slices and the RecSys Challenge 2018 challenge set.

Both use the layout ``{"info": {...}, "playlists": [{"pid": ..., "tracks": [...]}, ...]}``
documented in the MPD's own README. Any track or playlist field but ``track_uri``, ``tracks`` and
``pid`` may be missing. A file is parsed whole, one file at a time, by the typed fast path in
``mpd_fast.py``. When the fast path rejects a file, the checked reader here parses it again, so
that an invalid file gets a precise message and ``--on-error skip`` can drop single playlists.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import orjson

from segue.data.mpd_fast import (
    EXTRA_PLAYLIST_FIELDS,
    LOCAL_PREFIX,
    NeedsCheckedReader,
    extra_json,
    playlist_key,
    read_fast,
)
from segue.data.records import FileBuilder, ParsedFile, PlaylistRecord
from segue.errors import InputError


def read_mpd_file(path: str | Path, on_error: str = "raise") -> ParsedFile:
    """Parse one MPD slice or challenge set file.

    With ``on_error="skip"`` an invalid playlist is left out and its message kept in
    ``ParsedFile.skipped``; an invalid file raises :class:`InputError` in both modes.
    """
    path = str(path)
    data = Path(path).read_bytes()
    size, digest = len(data), hashlib.sha256(data).hexdigest()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return read_fast(data).build(path, "mpd", size, digest)
    except NeedsCheckedReader:
        pass
    return _read_checked(path, data, size, digest, on_error)


def _read_checked(path: str, data: bytes, size: int, digest: str, on_error: str) -> ParsedFile:
    """Validate a file field by field, raising or skipping at the first invalid value."""
    document = decode_json(path, data)

    if not isinstance(document, dict):
        raise InputError(path, f"expected a JSON object with 'playlists', found {_type_name(document)}")
    if "playlists" not in document:
        raise InputError(path, "missing field 'playlists'")
    playlists = document["playlists"]
    if not isinstance(playlists, list):
        raise InputError(path, f"must be a list, not {_type_name(playlists)}", field="playlists")

    builder = FileBuilder()
    for number, playlist in enumerate(playlists):
        builder.begin()
        try:
            _read_playlist(path, number, playlist, builder)
        except InputError as error:
            if on_error != "skip":
                raise
            builder.skip(str(error))

    return builder.build(path, "mpd", size, digest)


def decode_json(path: str, data: bytes):
    """Parse JSON bytes, telling an empty, non-UTF-8, truncated or invalid file apart."""
    if not data.strip():
        raise InputError(path, "empty file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            line = data.count(b"\n", 0, decode_error.start) + 1
            raise InputError(path, f"line {line}: not valid UTF-8 (byte offset {decode_error.start})") from None
        if error.pos >= len(data.rstrip()):
            raise InputError(path, f"line {error.lineno}: truncated JSON: {error.msg}") from None
        raise InputError(path, f"line {error.lineno} column {error.colno}: invalid JSON: {error.msg}") from None


def _read_playlist(path: str, number: int, playlist, builder: FileBuilder) -> None:
    where = f"playlist {number}"
    if not isinstance(playlist, dict):
        raise InputError(path, f"must be an object, not {_type_name(playlist)}", where)

    if "pid" not in playlist:
        raise InputError(path, "missing field 'pid'", where)
    pid = playlist["pid"]
    if not isinstance(pid, (int, str)) or isinstance(pid, bool):
        raise InputError(path, f"must be an integer or string, not {_type_name(pid)}", where, "pid")
    where = f"playlist {number} (pid {pid})"

    if "tracks" not in playlist:
        raise InputError(path, "missing field 'tracks'", where)
    tracks = playlist["tracks"]
    if not isinstance(tracks, list):
        raise InputError(path, f"must be a list, not {_type_name(tracks)}", where, "tracks")

    record = PlaylistRecord(
        key=playlist_key(pid),
        name=_optional_str(path, where, playlist, "name"),
        description=_optional_str(path, where, playlist, "description"),
        extra=_extra_fields(playlist),
        challenge="num_holdouts" in playlist,
    )
    builder.commit(record, _read_tracks(path, where, tracks, builder))


def _read_tracks(path: str, where: str, tracks: list, builder: FileBuilder) -> list[int]:
    """Return the local ids of a playlist's tracks in playlist order, dropping unusable URIs."""
    kept: list[tuple[int, str, tuple]] = []  # (position, uri, metadata)
    with_pos = 0

    for index, track in enumerate(tracks):
        if type(track) is not dict:
            raise InputError(path, f"must be an object, not {_type_name(track)}", where, f"tracks[{index}]")
        if "track_uri" not in track:
            raise InputError(path, "missing field 'track_uri'", where, f"tracks[{index}]")

        position = track.get("pos")
        if position is not None:
            if type(position) is not int:
                raise InputError(path, f"must be an integer, not {_type_name(position)}", where, f"tracks[{index}].pos")
            with_pos += 1
        else:
            position = index

        uri = track["track_uri"]
        if uri is None or uri == "":
            builder.dropped["empty_uri"] += 1
            continue
        if type(uri) is not str:
            raise InputError(path, f"must be a string, not {_type_name(uri)}", where, f"tracks[{index}].track_uri")
        if uri.startswith(LOCAL_PREFIX):
            builder.dropped["local_file"] += 1
            continue

        # Every row is type-checked, not only a track's first, so that no invalid field passes silently.
        kept.append((position, uri, _track_values(path, where, index, track)))

    # Order by `pos` only when every track has one; a partial `pos` would make the order a guess.
    if with_pos and with_pos != len(tracks):
        missing = next(i for i, t in enumerate(tracks) if t.get("pos") is None)
        raise InputError(path, "missing field 'pos' while other tracks have one", where, f"tracks[{missing}]")
    if with_pos:
        kept.sort(key=lambda pair: pair[0])
        positions = [track["pos"] for track in tracks]
        if len(set(positions)) != len(positions):
            repeated = next(i for i, p in enumerate(positions) if positions.index(p) != i)
            raise InputError(path, f"repeats pos {positions[repeated]}", where, f"tracks[{repeated}].pos")

    # Tracks are numbered in playlist order, as the fast path numbers them.
    local_ids = []
    for _, uri, values in kept:
        local_id = builder.local_ids.get(uri)
        if local_id is None:
            local_id = builder.add_track(uri, values)
        local_ids.append(local_id)
    return local_ids


_TRACK_KEYS = ("track_name", "artist_name", "album_name", "duration_ms", "artist_uri", "album_uri")
_TRACK_TYPES = (str, str, str, int, str, str)


def _track_values(path: str, where: str, index: int, track: dict) -> tuple:
    """Return a track row's metadata in TRACK_FIELDS order, checking the type of each field."""
    name = track.get("track_name")
    artist = track.get("artist_name")
    album = track.get("album_name")
    duration = track.get("duration_ms")
    artist_uri = track.get("artist_uri")
    album_uri = track.get("album_uri")
    values = (name, artist, album, duration, artist_uri, album_uri)

    # One cheap test for the common case; the loop below only runs to name the bad field.
    if (
        (name is None or type(name) is str)
        and (artist is None or type(artist) is str)
        and (album is None or type(album) is str)
        and (duration is None or (type(duration) is int and duration >= 0))
        and (artist_uri is None or type(artist_uri) is str)
        and (album_uri is None or type(album_uri) is str)
    ):
        return values
    for key, value, expected in zip(_TRACK_KEYS, values, _TRACK_TYPES):
        if value is not None and type(value) is not expected:
            kind = "an integer" if expected is int else "a string"
            raise InputError(path, f"must be {kind}, not {_type_name(value)}", where, f"tracks[{index}].{key}")
    raise InputError(path, f"must not be negative, found {duration}", where, f"tracks[{index}].duration_ms")


def _optional_str(path: str, where: str, playlist: dict, name: str) -> str | None:
    value = playlist.get(name)
    if value is not None and not isinstance(value, str):
        raise InputError(path, f"must be a string, not {_type_name(value)}", where, name)
    return value


def _extra_fields(playlist: dict) -> str | None:
    return extra_json({name: playlist[name] for name in EXTRA_PLAYLIST_FIELDS if name in playlist})


def _type_name(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)
