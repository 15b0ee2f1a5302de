"""Keyed pseudonyms for user ids: HMAC-SHA256 with a secret key that never leaves the build.

A plain or salted hash of an id is reversible by enumeration (phone-number-like ids have a few
billion candidates); a keyed HMAC is not, as long as the key stays secret. The key is read from
an environment variable or a key file; only a fingerprint of it is ever written anywhere.
"""

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import AnonymizeConfig
from honkdata.errors import HonkdataError

# Public on purpose: pseudonyms made with it protect nothing. Only for the shipped synthetic sample.
DEMO_KEY = b"honkdata-demo-key: public, for the shipped synthetic sample only"
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes = field(repr=False)
    source: str  # where it came from, for the manifest: env:NAME, file:PATH or demo

    @property
    def fingerprint(self) -> str:
        """Identifies the key version (same key, same pseudonyms) without revealing the key."""
        return hmac.new(self.secret, b"honkdata key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def load_key(config: AnonymizeConfig) -> PseudonymKey:
    """The pseudonym key from the environment, else the key file, else the demo key if allowed."""
    if value := os.environ.get(config.key_env):
        secret, source = value.encode(), f"env:{config.key_env}"
    elif config.key_file:
        path = Path(config.key_file)
        if not path.is_file():
            raise HonkdataError(f"anonymize.key_file not found: {path}")
        secret, source = path.read_bytes().strip(), f"file:{path}"
    elif config.demo_key:
        return PseudonymKey(DEMO_KEY, "demo")
    else:
        raise HonkdataError(
            f"user logs need a pseudonym key: set ${config.key_env} or anonymize.key_file "
            "(anonymize.demo_key: true is only for the shipped synthetic sample)"
        )
    if len(secret) < MIN_KEY_BYTES:
        raise HonkdataError(f"the pseudonym key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return PseudonymKey(secret, source)


class Pseudonymizer:
    """Maps raw ids to pseudonyms batch by batch, and remembers (as keyed digests) which raw ids it saw.

    The digests let the leak check recognize a raw id in the output without keeping raw ids around.
    """

    def __init__(self, key: PseudonymKey) -> None:
        self._secret = key.secret
        self._seen: list[np.ndarray] = []

    def digest(self, value: str) -> bytes:
        return hmac.digest(self._secret, value.encode(), "sha256")

    def __call__(self, ids: pa.Array) -> pa.Array:
        unique = pc.unique(ids.drop_null())
        digests = [self.digest(v) for v in unique.to_pylist()]
        self._seen.append(np.frombuffer(b"".join(d[:8] for d in digests), dtype=np.uint64))
        pseudonyms = pa.array([d[:16].hex() for d in digests], pa.string())
        return pc.take(pseudonyms, pc.index_in(ids, unique))

    def _seen_digests(self) -> np.ndarray:
        """Sorted unique 64-bit digests of every raw id pseudonymized so far (merged once, on demand)."""
        if len(self._seen) != 1:
            self._seen = [np.unique(np.concatenate(self._seen)) if self._seen else np.empty(0, np.uint64)]
        return self._seen[0]

    def were_seen(self, values: list[str]) -> np.ndarray:
        """Boolean mask: which of `values` are raw ids this pseudonymizer has seen."""
        if not values:
            return np.zeros(0, bool)
        probe = np.frombuffer(b"".join(self.digest(v)[:8] for v in values), dtype=np.uint64)
        return np.isin(probe, self._seen_digests())
