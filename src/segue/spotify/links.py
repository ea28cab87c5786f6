"""Track references as listeners paste them: Spotify URIs, open.spotify.com links, or a dataset's own IDs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from segue.errors import InputError, UserError

# Spotify IDs are 22 base-62 characters.
_ID = re.compile(r"[0-9A-Za-z]{22}")
_TYPES = ("track", "album", "artist", "playlist", "episode", "show", "user")


def track_uri(text: str) -> str:
    """Return the track URI that ``text`` names, raising ValueError for a malformed Spotify reference.

    ``spotify:track:ID`` and ``https://open.spotify.com/track/ID`` (with or without the scheme,
    a locale such as ``/intl-de``, or a query such as ``?si=...``) become ``spotify:track:ID``.
    Links to other sites are invalid. Local files (``spotify:local:...``) and any other text without
    spaces are returned as they are: a dataset may have its own track IDs, such as ``2839``, and a
    recommender reports the tracks it does not know.
    """
    text = text.strip()
    if not text or any(character.isspace() for character in text):
        raise ValueError(f"{text!r} is not a track URI: expected one word, such as spotify:track:<22-character ID>")

    if text.lower().startswith("spotify:local:"):
        return text
    if text.lower().startswith("spotify:"):
        parts = text.split(":")
        return _spotify_track(parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "", text, extra=parts[3:])

    link = text if "://" in text else "https://" + text
    address = urlsplit(link)
    if address.hostname != "open.spotify.com":
        if "://" in text:
            raise ValueError(f"{text!r} is not a Spotify track link: expected https://open.spotify.com/track/<ID>")
        return text
    segments = [segment for segment in address.path.split("/") if segment]
    if segments and segments[0].startswith("intl-"):
        segments = segments[1:]
    kind = segments[0] if segments else ""
    return _spotify_track(kind, segments[1] if len(segments) > 1 else "", text, extra=segments[2:])


def link_to_uri(text: str) -> str:
    """Return the track URI of an open.spotify.com link, and any other text unchanged.

    Unlike ``track_uri``, this leaves ``spotify:`` URIs alone, so a dataset's own URIs pass even
    where they are not valid Spotify IDs. A malformed link still raises ValueError.
    """
    if "open.spotify.com/" in text:
        return track_uri(text)
    return text


def _spotify_track(kind: str, identifier: str, text: str, extra: list[str]) -> str:
    if kind != "track":
        description = f"a Spotify {kind} reference" if kind in _TYPES else "not a Spotify track reference"
        raise ValueError(f"{text!r} is {description}: expected a track, such as spotify:track:<22-character ID>")
    if not _ID.fullmatch(identifier) or extra:
        raise ValueError(f"{text!r} is not a valid Spotify track: its ID must be 22 letters and digits")
    return f"spotify:track:{identifier}"


def read_track_file(path: str | Path) -> list[str]:
    """Read a playlist file: one track URI or link a line; blank lines and lines starting with # are skipped."""
    path = Path(path)
    try:
        # utf-8-sig drops the byte order mark that some Windows editors write at the start.
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: playlist file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the playlist file: {error}") from None

    tracks = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tracks.append(track_uri(line))
        except ValueError as error:
            raise InputError(str(path), str(error), where=f"line {number}") from None
    if not tracks:
        raise UserError(f"{path}: the playlist file has no tracks")
    return tracks
