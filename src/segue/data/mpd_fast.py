"""The fast path of the MPD reader: typed decoding with msgspec.

msgspec checks every field's type in C while it decodes, so valid files need no per-field checks
in Python. Any file it rejects, and any playlist whose ``pos`` values need a closer look, is left
to the checked reader in ``mpd.py``, which names the exact playlist and field of each error.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from segue.data.records import FileBuilder, PlaylistRecord

LOCAL_PREFIX = "spotify:local:"

# Scalar playlist fields of the MPD and the challenge set kept as the catalog's `extra` JSON.
EXTRA_PLAYLIST_FIELDS = (
    "collaborative",
    "modified_at",
    "num_tracks",
    "num_albums",
    "num_followers",
    "num_edits",
    "duration_ms",
    "num_artists",
    "num_samples",
    "num_holdouts",
)


class Track(msgspec.Struct):
    track_uri: str | None
    track_name: str | None = None
    artist_name: str | None = None
    album_name: str | None = None
    duration_ms: Annotated[int, msgspec.Meta(ge=0)] | None = None
    artist_uri: str | None = None
    album_uri: str | None = None
    pos: int | None = None


class Playlist(msgspec.Struct):
    pid: int | str
    tracks: list[Track]
    name: str | None = None
    description: str | None = None
    collaborative: Any = msgspec.UNSET
    modified_at: Any = msgspec.UNSET
    num_tracks: Any = msgspec.UNSET
    num_albums: Any = msgspec.UNSET
    num_followers: Any = msgspec.UNSET
    num_edits: Any = msgspec.UNSET
    duration_ms: Any = msgspec.UNSET
    num_artists: Any = msgspec.UNSET
    num_samples: Any = msgspec.UNSET
    num_holdouts: Any = msgspec.UNSET


class SliceFile(msgspec.Struct):
    playlists: list[Playlist]


_decoder = msgspec.json.Decoder(SliceFile)


def playlist_key(pid: int | str) -> str:
    """Return the dataset key of an MPD playlist: its ``pid``, which the MPD keeps unique."""
    return f"mpd:{pid}"


class NeedsCheckedReader(Exception):
    """The fast path cannot tell whether the file is valid; the checked reader must decide."""


def read_fast(data: bytes) -> FileBuilder:
    """Decode a slice and number its tracks; raise NeedsCheckedReader for anything unusual."""
    try:
        document = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise NeedsCheckedReader(str(error)) from None

    builder = FileBuilder()
    local_ids = builder.local_ids
    uris = builder.uris
    track_values = builder.track_values
    rows = builder.rows
    dropped = builder.dropped

    for playlist in document.playlists:
        tracks = _in_playlist_order(playlist.tracks)
        start = len(rows)
        for track in tracks:
            uri = track.track_uri
            if not uri:
                dropped["empty_uri"] += 1
                continue
            if uri.startswith(LOCAL_PREFIX):
                dropped["local_file"] += 1
                continue
            local_id = local_ids.get(uri)
            if local_id is None:
                local_id = len(uris)
                local_ids[uri] = local_id
                uris.append(uri)
                track_values.append(
                    (
                        track.track_name,
                        track.artist_name,
                        track.album_name,
                        track.duration_ms,
                        track.artist_uri,
                        track.album_uri,
                    )
                )
            rows.append(local_id)

        builder.lengths.append(len(rows) - start)
        builder.playlists.append(
            PlaylistRecord(
                key=playlist_key(playlist.pid),
                name=playlist.name,
                description=playlist.description,
                extra=extra_json(
                    {name: getattr(playlist, name) for name in EXTRA_PLAYLIST_FIELDS},
                ),
                challenge=playlist.num_holdouts is not msgspec.UNSET,
            )
        )
    return builder


def _in_playlist_order(tracks: list[Track]) -> list[Track]:
    positions = [track.pos for track in tracks]
    if not positions or positions[0] is None:
        if any(position is not None for position in positions):
            raise NeedsCheckedReader("some tracks lack pos")
        return tracks
    if None in positions:
        raise NeedsCheckedReader("some tracks lack pos")
    if positions == list(range(len(positions))):
        return tracks
    if len(set(positions)) != len(positions):
        raise NeedsCheckedReader("repeated pos")
    return [track for _, track in sorted(zip(positions, tracks), key=lambda pair: pair[0])]


def extra_json(fields: dict) -> str | None:
    """Return the scalar ones of ``fields`` as a JSON object, or None when there are none."""
    extra = {
        name: value
        for name, value in fields.items()
        if value is not msgspec.UNSET and (value is None or isinstance(value, (str, int, float, bool)))
    }
    return msgspec.json.encode(extra).decode() if extra else None
