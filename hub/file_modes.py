"""Files of the data dir are the owner's only.

The data dir holds Kafka's log segments (every message: resident ID numbers, accounts), faust's
RocksDB tables, keys, credentials and logs.  Two measures keep other local users out of it:

* :func:`restrict_umask`: every hub process (``hub.cli.run``) and the broker JVM it starts (a
  ``umask`` of :data:`PRIVATE_UMASK` for the child) create files 0600 and directories 0700;
* :func:`make_private`: at broker start and at worker start, the data dir is walked and whatever
  is still group- or other-accessible (created before, or by another tool) is made owner-only.
  Only counts are logged, never file names or contents.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: group and other get nothing
PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> int:
    """Make what this process (and every child it starts) creates owner-only; returns the previous umask.

    Bits the previous umask already withheld stay withheld.
    """
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


@dataclass(frozen=True, slots=True)
class ModeFixes:
    """What :func:`make_private` changed (and could not change) under one root."""

    dirs: int = 0
    files: int = 0
    failed: int = 0

    @property
    def fixed(self) -> int:
        return self.dirs + self.files


def private_mode(mode: int) -> int:
    """The owner-only mode of an entry with ``st_mode`` ``mode``: 0700 for a directory, 0600 for a file.

    A file's owner-execute bit is kept (0755 -> 0700).
    """
    if stat.S_ISDIR(mode):
        return DIR_MODE
    return FILE_MODE | (stat.S_IMODE(mode) & stat.S_IXUSR)


def make_private(root: Path) -> ModeFixes:
    """Make every directory and file under ``root`` (and ``root``) that group or other may access owner-only.

    Symbolic links are neither followed nor changed; entries that vanish during the walk (Kafka
    deletes segments) are skipped; entries that cannot be changed (another owner) are counted as
    failed.  Logs a warning with the counts when anything was fixed or failed.
    """
    dirs = files = failed = 0

    def fix(path: str) -> None:
        nonlocal dirs, files, failed
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & PRIVATE_UMASK:
            return
        try:
            os.chmod(path, private_mode(st.st_mode))
        except FileNotFoundError:
            return
        except OSError:
            failed += 1
            return
        if stat.S_ISDIR(st.st_mode):
            dirs += 1
        else:
            files += 1

    if not root.is_dir():
        return ModeFixes()
    fix(str(root))
    for top, subdirs, names in os.walk(root, followlinks=False):
        for name in subdirs + names:
            fix(os.path.join(top, name))
    fixes = ModeFixes(dirs, files, failed)
    if fixes.fixed:
        log.warning("data dir %s: made %d directories and %d files owner-only (they were group- or "
                    "other-accessible)", root, fixes.dirs, fixes.files)
    if fixes.failed:
        log.warning("data dir %s: %d entries are group- or other-accessible and could not be changed",
                    root, fixes.failed)
    return fixes


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, owner-only from creation on (a reader sees the old file or the new one)."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, FILE_MODE)  # a .tmp left by an earlier crash kept its old mode
    os.replace(tmp, path)
