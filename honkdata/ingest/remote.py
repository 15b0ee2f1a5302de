"""Inputs on object storage (s3://, gs://, any URL fsspec knows): found, named and opened.

Credentials and endpoints are each backend's own (for S3 the AWS_* environment variables, with
AWS_ENDPOINT_URL for an S3-compatible store), plus a source's `storage_options`. Whatever goes wrong
on the way to the bytes (no backend installed, no such bucket, no permission, no network) is a
one-line HonkdataError that names the URL.
"""

import glob
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, NamedTuple

import fsspec
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from honkdata.errors import HonkdataError

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# The honkdata extra that installs a scheme's file system, where there is one.
EXTRAS = {"s3": "honkdata[s3]", "s3a": "honkdata[s3]"}
_REASONS = ((FileNotFoundError, "not found"), (PermissionError, "permission denied"))


def is_url(path: str) -> bool:
    return _URL.match(path) is not None


@contextmanager
def storage_errors(url: str, doing: str = "read") -> Iterator[None]:
    """Turn what a file system call raises into one line naming `url` ("cannot {doing} {url}: ...").
    Each backend raises its own errors (botocore, aiohttp, google-auth), not only OSError, so any
    error inside is about `url`."""
    try:
        yield
    except HonkdataError:
        raise
    except Exception as e:
        reason = next((text for kind, text in _REASONS if isinstance(e, kind)), type(e).__name__)
        detail = _first_line(e)
        raise HonkdataError(f"cannot {doing} {url}: {reason}" + (f" ({detail})" if detail else "")) from None


def _first_line(error: BaseException) -> str:
    return next(iter(str(error).strip().splitlines()), "")


def filesystem(url: str, options: dict[str, Any], doing: str = "read") -> tuple[AbstractFileSystem, str]:
    """The file system of `url` and the path on it; a backend that is not installed is named (in
    the words of `storage_errors`)."""
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as e:  # fsspec's message names the package
        scheme = url.split("://", 1)[0].lower()
        extra = f" (pip install '{EXTRAS[scheme]}')" if scheme in EXTRAS else ""
        raise HonkdataError(f"cannot {doing} {url}: {_first_line(e)}{extra}") from None
    except (ValueError, TypeError) as e:  # an unknown scheme, options the backend refuses
        raise HonkdataError(f"cannot {doing} {url}: {_first_line(e)}") from None


def put_file(fs: AbstractFileSystem, local: Path, remote: str) -> None:
    """Upload `local` to `remote` on `fs`: on object storage the object appears whole when the upload
    completes, or not at all."""
    # A local folder needs its parents made; on object storage there are none to make, and s3fs's
    # makedirs would create a missing bucket instead of letting the upload fail.
    if isinstance(fs, LocalFileSystem):
        fs.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
    fs.put_file(str(local), remote)


class RemoteStat(NamedTuple):
    st_size: int
    st_mtime_ns: int


@dataclass(frozen=True)
class RemotePath:
    """A file on a remote file system, named by its URL.

    The build asks an input's path for its name, size and modification time (the progress display,
    the key of a resumable build), as of a `pathlib.Path`: a RemotePath answers like one, from the
    listing. It travels to Ray workers whole: its file system pickles with its options.
    """

    fs: AbstractFileSystem = field(repr=False)
    path: str  # as the file system names it: bucket/key
    size: int
    mtime_ns: int  # 0 where the file system keeps no modification time
    # An entity tag (S3, GCS, Azure) changes whenever the object is rewritten, even within the
    # second its modification time counts in; "" where there is none.
    etag: str = ""

    @property
    def url(self) -> str:
        return self.fs.unstrip_protocol(self.path)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    def __str__(self) -> str:
        return self.url

    def is_dir(self) -> bool:
        return False

    def stat(self) -> RemoteStat:
        return RemoteStat(self.size, self.mtime_ns)

    @contextmanager
    def open(self, block_bytes: int) -> Iterator[IO[bytes]]:
        """The file's bytes; each read of `block_bytes` is one request, with no read-ahead buffer."""
        with (
            storage_errors(self.url),
            self.fs.open(self.path, "rb", block_size=block_bytes, cache_type="none") as f,
        ):
            yield f

    def head(self, n: int) -> bytes:
        """The first `n` bytes (fewer in a shorter file), in one request."""
        with storage_errors(self.url):
            return self.fs.cat_file(self.path, start=0, end=n)


@dataclass(frozen=True)
class RemoteFolder:
    """A folder (a prefix) on a remote file system, with its files as listed, each with its path in it.

    A dataset folder (snips, bio) is one input: like a RemotePath, it answers for its name, size and
    modification time as a local folder's `pathlib.Path` would (its files' bytes together, the newest
    file's time), so the progress display and a resumable build's key need no request.
    """

    fs: AbstractFileSystem = field(repr=False)
    path: str  # as the file system names it: bucket/prefix
    files: tuple[tuple[RemotePath, PurePosixPath], ...]  # in path order

    @property
    def url(self) -> str:
        return self.fs.unstrip_protocol(self.path).rstrip("/") + "/"

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    def __str__(self) -> str:
        return self.url

    def is_dir(self) -> bool:
        return True

    def stat(self) -> RemoteStat:
        return RemoteStat(
            sum(f.size for f, _ in self.files), max((f.mtime_ns for f, _ in self.files), default=0)
        )


def find_remote(url: str, options: dict[str, Any]) -> list[RemotePath | RemoteFolder]:
    """What `url` names, in path order: a file, a folder, or (a glob) several; none when nothing is
    there (no such object, prefix or bucket)."""
    fs, path = filesystem(url, options)
    with storage_errors(url):
        fs.invalidate_cache()  # a listing kept from earlier in this process may be stale
        if glob.has_magic(path):
            found = list(fs.glob(path, detail=True).values())
        else:
            found = [info] if (info := _info(fs, path)) else []
        return [_match(fs, info) for info in sorted(found, key=lambda i: i["name"])]


def _info(fs: AbstractFileSystem, path: str) -> dict | None:
    try:
        return fs.info(path)
    except FileNotFoundError:
        return None


def _match(fs: AbstractFileSystem, info: dict) -> RemotePath | RemoteFolder:
    if info["type"] != "directory":
        return _remote_path(fs, info)
    folder = PurePosixPath(info["name"])
    files = (_remote_path(fs, i) for i in fs.find(info["name"], detail=True).values())
    inside = [(f, PurePosixPath(f.path).relative_to(folder)) for f in files]
    return RemoteFolder(fs, info["name"], tuple(sorted(inside, key=lambda f: PurePosixPath(f[0].path))))


def _remote_path(fs: AbstractFileSystem, info: dict) -> RemotePath:
    etag = info.get("ETag") or info.get("etag") or ""
    return RemotePath(fs, info["name"], info["size"], _modified_ns(fs, info["name"]), etag)


def _modified_ns(fs: AbstractFileSystem, path: str) -> int:
    try:
        return int(fs.modified(path).timestamp() * 1_000_000_000)
    except (NotImplementedError, IsADirectoryError):
        return 0
