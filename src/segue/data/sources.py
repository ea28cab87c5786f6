"""Finding source files and handing each to the reader for its format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from segue.data.mpd import read_mpd_file
from segue.data.records import ParsedFile
from segue.data.tables import TABLE_SUFFIXES, TableColumns, read_table_file
from segue.errors import InputError

MPD_FILE = re.compile(r"^(mpd\.slice\..+|challenge_set.*)\.json$")


@dataclass(frozen=True)
class Source:
    path: str
    kind: str  # "mpd" or "table"


def _natural_key(path: Path) -> list:
    """Sort ``mpd.slice.1000-1999.json`` after ``mpd.slice.999-...`` rather than by characters."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _kind_of(path: Path) -> str | None:
    if path.suffix.lower() == ".json":
        return "mpd"
    if path.suffix.lower() in TABLE_SUFFIXES:
        return "table"
    return None


def discover_sources(arguments: list[str]) -> list[Source]:
    """Expand files and folders into the list of files to read, each once, in a stable order.

    A folder contributes its ``mpd.slice.*.json``, ``challenge_set*.json`` and table files
    (not those of its subfolders). A file named directly is read whatever its name, if its
    suffix is ``.json`` or a table suffix.
    """
    found: list[Source] = []
    seen: set[Path] = set()

    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            raise InputError(argument, "not found")

        if path.is_dir():
            candidates = sorted(
                (p for p in path.iterdir() if p.is_file() and (MPD_FILE.match(p.name) or _kind_of(p) == "table")),
                key=_natural_key,
            )
            if not candidates:
                raise InputError(
                    argument, "no mpd.slice.*.json, challenge_set.json, .csv, .tsv or .parquet files in this folder"
                )
        else:
            if _kind_of(path) is None:
                raise InputError(argument, "unknown file type: expected .json (MPD layout), .csv, .tsv or .parquet")
            candidates = [path]

        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(Source(str(candidate), _kind_of(candidate)))

    return found


def read_source(source: Source, columns: TableColumns, on_error: str) -> ParsedFile | InputError:
    """Read one file; an invalid file comes back as the error so that worker processes can return it."""
    try:
        if source.kind == "mpd":
            return read_mpd_file(source.path, on_error)
        return read_table_file(source.path, columns, on_error)
    except InputError as error:
        return error
    except OSError as error:
        return InputError(source.path, f"cannot read: {error.strerror or error}")
