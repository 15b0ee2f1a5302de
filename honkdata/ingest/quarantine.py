"""Rejected input rows, kept with their reason outside the published snapshot.

Quarantined rows hold raw text (and possibly personal data), so the files are written owner-only
(0600). The quarantine folder may be a shared one (a 1777 /tmp) or one someone else prepared, so
honkdata makes owner-only (0700) only the folders it creates itself, never changes the mode of a
folder that exists, and never writes through a symbolic link from the quarantine folder down:
every folder is opened without following links, from the root down, so a link planted after the
check is refused too.
"""

import os
import stat
from pathlib import Path
from typing import IO

import orjson

from honkdata.errors import HonkdataError

# A 10 MB line is kept as its head: enough to find and fix it, without copying the whole thing.
MAX_RAW_CHARS = 2_000

# Folders are opened only to walk through them: O_PATH needs no read permission (Linux).
_FOLDER_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


def _refuse_links(path: Path) -> None:
    """HonkdataError when an existing part of `path` (the path itself included) is a symbolic link."""
    path = path.absolute()
    for part in [*reversed(path.parents), path]:
        try:
            mode = os.lstat(part).st_mode
        except FileNotFoundError:
            return  # nothing below it exists yet
        except OSError as e:
            raise HonkdataError(f"cannot use quarantine path {path}: {e.strerror}") from None
        if stat.S_ISLNK(mode):
            raise HonkdataError(
                f"quarantine path {path} passes through a symbolic link ({part}); "
                "set quarantine_dir to a real folder"
            )


def _open_folder(folder: Path) -> int:
    """A descriptor of `folder`, opened from the root down, creating (0700) the folders it lacks."""
    fd = os.open(folder.anchor, _FOLDER_FLAGS)
    try:
        for name in folder.parts[1:]:
            try:
                child = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(name, 0o700, dir_fd=fd)
                child = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_owner_only(path: Path) -> IO[bytes]:
    path = path.absolute()
    try:
        _refuse_links(path)  # a clear message for a link that is already there
        folder = _open_folder(path.parent)
        try:
            fd = os.open(path.name, _FILE_FLAGS, 0o600, dir_fd=folder)
        finally:
            os.close(folder)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise HonkdataError(f"quarantine file {path} exists and is not a file of this user")
    except OSError as e:  # a link planted since the check ends up here too (ELOOP, ENOTDIR)
        raise HonkdataError(f"cannot write quarantine file {path}: {e.strerror}") from None
    return os.fdopen(fd, "ab")


def _head_and_length(raw: str | bytes) -> tuple[str, int]:
    """The head of the raw text and its length in characters, without decoding a huge line whole."""
    if isinstance(raw, str):
        return raw[:MAX_RAW_CHARS], len(raw)
    head = raw[: 4 * MAX_RAW_CHARS].decode("utf-8", "replace")[:MAX_RAW_CHARS]
    return head, len(raw.translate(None, _UTF8_CONTINUATION))  # one character per lead byte


class Quarantine:
    def __init__(self, path: Path) -> None:
        """`path`: <quarantine folder>/<dataset>/<file>. Links above the quarantine folder are the
        machine's layout (a home on NFS) and are resolved; from the quarantine folder down none is
        followed."""
        folder = path.parent.parent
        path = folder.parent.resolve() / folder.name / path.parent.name / path.name
        _refuse_links(path)  # fail before reading anything, not at the first rejected row
        self.path = path
        self.rows = 0
        self._file: IO[bytes] | None = None

    def reject(self, source: str, line: int, reason: str, raw: str | bytes) -> None:
        if self._file is None:
            self._file = _open_owner_only(self.path)
        head, length = _head_and_length(raw)
        record = {"source": source, "line": line, "reason": reason, "raw": head, "raw_chars": length}
        self._file.write(orjson.dumps(record) + b"\n")
        self.rows += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
