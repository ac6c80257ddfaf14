"""Electronic seals (电子印章, 000 §8): Ed25519 signatures over a reply's canonical bytes.

The canonical bytes of a sealed message are its Avro binary encoding (single-object framing
included) with ``seal`` set to null; Avro binary encoding is deterministic for a given datum.
Each agency's key pair is generated at setup (``interop-hub keys generate``) into the data dir:
the private key stays with the agency (mode 0600), the public key is registered with the hub in
``keys/registry.json``.  Nothing here is ever committed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.codec import AvroCodec, AvroMessage
from hub.errors import ConfigError, InvalidSeal, MissingSeal, UnknownSealKey

ALGORITHM = "Ed25519"


def canonical_bytes(codec: AvroCodec, schema: str, datum: dict[str, Any]) -> bytes:
    return codec.encode(schema, {**datum, "seal": None})


def seal_message(codec: AvroCodec, message: AvroMessage, key: Ed25519PrivateKey, key_id: str) -> AvroMessage:
    """The message with its seal filled in."""
    signature = key.sign(canonical_bytes(codec, message.schema, message.datum))
    return AvroMessage(message.schema, {**message.datum, "seal": {
        "key_id": key_id, "algorithm": ALGORITHM, "signature": signature,
    }})


def is_sealed_type(message: AvroMessage) -> bool:
    return "seal" in message.datum


@dataclass(frozen=True)
class SealVerifier:
    """Public keys registered with the hub, by agency code."""

    keys: dict[str, tuple[str, Ed25519PublicKey]]  # agency -> (key_id, public key)

    def verify(self, codec: AvroCodec, message: AvroMessage, agency: str) -> str:
        """Check ``message`` carries a valid seal of ``agency``; returns the key id."""
        seal = message.datum.get("seal")
        if not seal:
            raise MissingSeal(f"{message.message_type} from {agency} carries no seal", field="seal")
        registered = self.keys.get(agency)
        if registered is None:
            raise UnknownSealKey(f"no sealing key registered for {agency}", field="seal.key_id")
        key_id, public = registered
        if seal["key_id"] != key_id:
            raise UnknownSealKey(f"seal key {seal['key_id']!r} is not {agency}'s registered key", field="seal.key_id")
        if seal.get("algorithm") != ALGORITHM:
            raise InvalidSeal(f"unsupported seal algorithm {seal.get('algorithm')!r}", field="seal.algorithm")
        try:
            public.verify(seal["signature"], canonical_bytes(codec, message.schema, message.datum))
        except InvalidSignature:
            raise InvalidSeal(f"seal of {agency} does not match the reply's content", field="seal.signature") from None
        return str(key_id)


class KeyStore:
    """Key files under ``<data_dir>/keys``: ``<agency>.pem`` (private) and ``registry.json`` (public)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "keys"

    @property
    def registry_path(self) -> Path:
        return self.dir / "registry.json"

    def private_path(self, agency: str) -> Path:
        return self.dir / f"{agency}.pem"

    def generate(self, agencies: Iterable[str]) -> list[str]:
        """Create a key pair for each agency that has none; returns the agencies given new keys."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        registry = self._read_registry()
        created = []
        for agency in agencies:
            if agency in registry and self.private_path(agency).exists():
                continue
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path = self.private_path(agency)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            registry[agency] = {"key_id": f"{agency}-{raw[:6].hex()}", "public_key": base64.b64encode(raw).decode()}
            created.append(agency)
        if created:
            tmp = self.registry_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(self.registry_path)
        return created

    def _read_registry(self) -> dict[str, dict[str, str]]:
        if not self.registry_path.exists():
            return {}
        data: dict[str, dict[str, str]] = json.loads(self.registry_path.read_text(encoding="utf-8"))
        return data

    def signer(self, agency: str) -> tuple[str, Ed25519PrivateKey]:
        registry = self._read_registry()
        if agency not in registry or not self.private_path(agency).exists():
            raise ConfigError(f"no sealing key for {agency}; run `interop-hub keys generate`", field="keys")
        key = serialization.load_pem_private_key(self.private_path(agency).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{agency}'s key is not Ed25519", field="keys")
        return registry[agency]["key_id"], key

    def public_key_b64(self, name: str) -> str:
        """A registered public key as published (base64 of the raw Ed25519 key)."""
        entry = self._read_registry().get(name)
        if entry is None:
            raise ConfigError(f"no public key of {name} in {self.registry_path}", field="keys")
        return entry["public_key"]

    def verifier(self) -> SealVerifier:
        keys = {
            agency: (entry["key_id"], Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"])))
            for agency, entry in self._read_registry().items()
        }
        return SealVerifier(keys)
