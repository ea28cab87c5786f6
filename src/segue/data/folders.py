"""Writing an output folder whole or not at all: checks before, a scratch folder during, a rename after."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segue.errors import UserError

logger = logging.getLogger(__name__)


def check_output(out: Path, inputs: list[tuple[str, Path]], marker: str, kind: str, force: bool) -> None:
    """Reject an output folder whose replacement could destroy anything but an earlier output.

    ``inputs`` are (label, path) pairs that ``out`` must not contain, such as ("source", file).
    An existing ``out`` is replaced only with ``force`` and only when it has the ``marker`` file
    or is empty; ``kind`` names such folders in messages.
    """
    target = out.resolve()
    for label, path in inputs:
        resolved = Path(path).resolve()
        if resolved == target or target in resolved.parents:
            raise UserError(f"{out}: contains the {label} {path}; choose another --out")
    working = Path.cwd().resolve()
    if target == working or target in working.parents:
        raise UserError(f"{out}: is the current folder or contains it; choose another --out")

    if not out.exists():
        return
    if not force:
        raise UserError(f"{out}: already exists; pass --force to replace it")
    if not out.is_dir():
        raise UserError(f"{out}: is a file, not a {kind}; choose another --out")
    if not ((out / marker).is_file() or not any(out.iterdir())):
        raise UserError(
            f"{out}: not a {kind} ({marker} not found), and --force replaces only those; "
            "remove it yourself or choose another --out"
        )


@contextmanager
def building(out: Path) -> Iterator[Path]:
    """Yield a scratch folder beside ``out`` and move it into place when the block succeeds.

    On any error, Ctrl-C included, the scratch folder and the parents created for it are removed.
    """
    created_parents = [parent for parent in reversed(out.absolute().parents) if not parent.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(out)
    scratch = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        yield scratch
        replace_folder(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        for parent in reversed(created_parents):
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()
        raise


def remove_abandoned_builds(out: Path) -> None:
    """Remove partial folders of earlier builds of ``out`` whose process no longer runs.

    A process killed outright (SIGKILL, or SIGTERM to a Python caller) cannot clean up after itself.
    """
    for partial in out.parent.glob(f".{out.name}.partial-*"):
        owner = partial.name.rsplit("-", 1)[-1]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            logger.info("removing %s, left by an earlier run that was stopped", partial)
            shutil.rmtree(partial, ignore_errors=True)
        except PermissionError:
            pass  # a live process of another user


def replace_folder(scratch: Path, out: Path) -> None:
    """Move a finished folder into place, replacing ``out`` only once the new one is there."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        scratch.rename(out)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        scratch.rename(out)
