"""Keyed pseudonyms for user ids: HMAC-SHA256 with a secret key that never leaves the build.

A plain or salted hash of an id is reversible by enumeration (phone-number-like ids have a few
billion candidates); a keyed HMAC is not, as long as the key stays secret. The key is read from
an environment variable or a key file; only a fingerprint of it is ever written anywhere.
"""

import hashlib
import hmac
import os
import stat
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import AnonymizeConfig
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.ingest.remote import RemoteFolder, RemotePath
from honkdata.ingest.sources import fingerprint

# Public on purpose: pseudonyms made with it protect nothing. Only for the shipped synthetic sample,
# which it recognizes by content, never by path: a user's log copied over the sample's path (or named
# like it) is not the sample. (bytes, sha256) of data/samples/queries.jsonl; tests keep it in step.
DEMO_KEY = b"honkdata-demo-key: public, for the shipped synthetic sample only"
SHIPPED_SAMPLE = (3_617_791, "d0fde317dac5c88fcba92e773d3e90568dc01412d39bf24aa4dd0e14dae4a13e")
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes = field(repr=False)
    source: str  # where it came from, for the manifest: env:NAME, file:PATH or demo

    @property
    def fingerprint(self) -> str:
        """Identifies the key version (same key, same pseudonyms) without revealing the key."""
        return hmac.new(self.secret, b"honkdata key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def is_shipped_sample(path: Path | RemotePath | RemoteFolder) -> bool:
    """Is `path` the synthetic sample honkdata ships, byte for byte? (size first: no hashing of big logs)"""
    if not isinstance(path, Path):
        return False  # the sample ships inside the package, on this machine
    return path.is_file() and path.stat().st_size == SHIPPED_SAMPLE[0] and fingerprint(path) == SHIPPED_SAMPLE


def _read_key_file(path: Path) -> bytes:
    if not path.is_file():
        raise HonkdataError(f"anonymize.key_file not found: {path}")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"the pseudonym key file {path} is readable by others (mode {path.stat().st_mode & 0o777:o}); "
            f"chmod 600 it",
            HonkdataWarning,
            stacklevel=3,
        )
    return path.read_bytes().strip()


def load_key(config: AnonymizeConfig, user_logs: Iterable[Path | RemotePath | RemoteFolder]) -> PseudonymKey:
    """The pseudonym key for reading `user_logs`: from the environment, else the key file, else the
    public demo key, which `anonymize.demo_key` allows for the shipped synthetic sample and nothing else.
    """
    if value := os.environ.get(config.key_env):
        secret, source = value.encode(), f"env:{config.key_env}"
    elif config.key_file:
        path = Path(config.key_file)
        secret, source = _read_key_file(path), f"file:{path}"
    else:
        not_sample = next((p for p in user_logs if not is_shipped_sample(p)), None)
        if config.demo_key and not_sample is None:
            return PseudonymKey(DEMO_KEY, "demo")
        why = (
            f"the public demo key serves only the shipped synthetic sample, and {not_sample} is not it"
            if config.demo_key
            else "anonymize.demo_key: true serves only the shipped synthetic sample"
        )
        raise HonkdataError(
            f"user logs need a pseudonym key: set ${config.key_env} or anonymize.key_file ({why})"
        )
    if len(secret) < MIN_KEY_BYTES:
        raise HonkdataError(f"the pseudonym key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return PseudonymKey(secret, source)


class Pseudonymizer:
    """Maps raw ids to pseudonyms batch by batch, and remembers (as keyed digests) which raw ids it saw.

    The digests let the leak check recognize a raw id in the output without keeping raw ids around.
    """

    def __init__(self, key: PseudonymKey) -> None:
        self.key = key
        # Keyed once: a copy per value skips the key setup that hmac.digest redoes on every call
        # (measured: 2-4x faster per id under OpenSSL 3), with the same HMAC-SHA256.
        self._keyed = hmac.new(key.secret, digestmod="sha256")
        self._seen: list[np.ndarray] = []
        self._unmerged = True  # _seen is not yet one sorted array of unique digests

    def __reduce__(self) -> tuple:
        """A copy for another process (an engine's worker) is a fresh one of the same key: a keyed
        HMAC does not pickle, and what the copy sees it reports back (`seen_digests`)."""
        return (Pseudonymizer, (self.key,))

    def digest(self, value: str) -> bytes:
        mac = self._keyed.copy()
        mac.update(value.encode())
        return mac.digest()

    def __call__(self, ids: pa.Array) -> pa.Array:
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()  # one dictionary for the whole column
        # Each distinct id is hashed once (active users repeat within a batch); nulls stay null.
        distinct = pc.dictionary_encode(ids)
        digests = [self.digest(v) for v in distinct.dictionary.to_pylist()]
        self._seen.append(np.frombuffer(b"".join(d[:8] for d in digests), dtype=np.uint64))
        self._unmerged = True
        pseudonyms = pa.array([d[:16].hex() for d in digests], pa.string())
        return pc.take(pseudonyms, distinct.indices)

    def seen_digests(self) -> np.ndarray:
        """Sorted unique 64-bit digests of every raw id pseudonymized so far (merged once, on demand)."""
        if self._unmerged:
            self._seen = [np.unique(np.concatenate(self._seen)) if self._seen else np.empty(0, np.uint64)]
            self._unmerged = False
        return self._seen[0]

    def were_seen(self, values: list[str]) -> np.ndarray:
        """Boolean mask: which of `values` are raw ids this pseudonymizer has seen."""
        if not values:
            return np.zeros(0, bool)
        probe = np.frombuffer(b"".join(self.digest(v)[:8] for v in values), dtype=np.uint64)
        # A binary search in the sorted digests: np.isin would sort them again on every call.
        seen = self.seen_digests()
        where = np.minimum(np.searchsorted(seen, probe), max(len(seen) - 1, 0))
        return seen[where] == probe if len(seen) else np.zeros(len(probe), bool)

    def add_seen(self, digests: np.ndarray) -> None:
        """Raw ids another copy of this pseudonymizer saw (a worker's), by their digests."""
        self._seen.append(digests)
        self._unmerged = True
