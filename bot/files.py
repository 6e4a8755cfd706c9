"""Writing a file or a directory so that a reader finds the old one or the new one, never half of one."""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def write_atomically(target: Path) -> Iterator[Path]:
    """A fresh path beside `target` to write a file or a directory into. On a clean exit it is synced to
    disk and renamed to `target`, replacing whatever was there; on an error it is removed and `target` is
    left as it was.

        with write_atomically(out) as staging:
            staging.write_text(text)

    Beside `target`, so the rename stays on one filesystem, where it is atomic. Synced before the rename,
    so after a power loss the name never points at data that had not reached the disk.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield staging
        _sync(staging)
        _replace(staging, target)
        _sync_directory(target.parent)  # the rename itself
    finally:
        _remove(staging)  # nothing left there after a successful rename


def _replace(staging: Path, target: Path) -> None:
    if not (staging.is_dir() and target.exists()):
        os.replace(staging, target)
        return
    # A directory cannot be renamed over a non-empty one: the old one steps aside for that moment.
    previous = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.previous")
    target.rename(previous)
    staging.rename(target)
    _remove(previous)


def _sync(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    for file in files:
        with open(file, "rb") as f:
            os.fsync(f.fileno())


def _sync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
