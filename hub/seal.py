"""Electronic seals (电子印章, 000 §8): Ed25519 signatures over a reply's canonical bytes.

The canonical bytes of a sealed message are its Avro binary encoding (single-object framing
included) with ``seal`` set to null; Avro binary encoding is deterministic for a given datum.
Each agency's key pair is generated at setup (``interop-hub keys generate``) into the data dir:
the private key stays with the agency (mode 0600), the public key is registered with the hub in
``keys/registry.json``.  Nothing here is ever committed.

``registry.json`` maps a party's code (an agency, or ``hub``) to its active key and the keys it retired::

    {"icbc": {"key_id": "icbc-1a2b3c4d5e6f", "public_key": "<base64 of the 32 raw bytes>",
              "valid_from": 1767225600000,
              "retired": [{"key_id": "icbc-…", "public_key": "…", "valid_from": 0, "valid_until": 1767225600000}]}}

``valid_from`` / ``valid_until`` are milliseconds since the epoch (UTC); an entry written before validity
was recorded has neither (``valid_from`` reads as 0) and no ``retired``.  A rotation
(``interop-hub keys rotate --agency CODE``) moves the active key to ``retired`` with ``valid_until`` = now
and registers a new key id: a retired key verifies only seals on messages sent before ``valid_until``
(``envelope.sent_at``), so receipts sealed before the rotation keep verifying by their key id.  The hub
publishes every key, signed, on ``registry.keys`` (:mod:`hub.registry_publisher`).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
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


def _ms(value: Any) -> int | None:
    """An instant as milliseconds since the epoch (Avro timestamp-millis decodes to a datetime)."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, int):
        return value
    return None


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    """One public sealing key of a party (an agency, or ``hub``) as registered with the hub."""

    owner: str  # agency code, or "hub"
    key_id: str
    public_key: bytes  # the 32 raw bytes of the Ed25519 public key
    valid_from_ms: int = 0  # 0: registered before validity was recorded
    valid_until_ms: int | None = None  # None: active; else retired at this instant

    @property
    def active(self) -> bool:
        return self.valid_until_ms is None

    def public(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_key)

    def covers(self, sent_at_ms: int | None) -> bool:
        """Whether a seal on a message sent at ``sent_at_ms`` may be this key's (a retired key seals nothing after
        its ``valid_until``)."""
        return self.valid_until_ms is None or (sent_at_ms is not None and sent_at_ms < self.valid_until_ms)


def check_signature(codec: AvroCodec, message: AvroMessage, public: Ed25519PublicKey, owner: str) -> None:
    """The one rule of every seal (an agency's on a receipt, the hub's on a published record): ``seal.signature``
    is ``public``'s Ed25519 signature over the message's :func:`canonical_bytes` (raises a SealError if not)."""
    seal = message.datum.get("seal")
    if not seal:
        raise MissingSeal(f"{message.message_type} from {owner} carries no seal", field="seal")
    if seal.get("algorithm") != ALGORITHM:
        raise InvalidSeal(f"unsupported seal algorithm {seal.get('algorithm')!r}", field="seal.algorithm")
    try:
        public.verify(seal["signature"], canonical_bytes(codec, message.schema, message.datum))
    except InvalidSignature:
        raise InvalidSeal(f"seal of {owner} does not match the message's content", field="seal.signature") from None


@dataclass(frozen=True)
class SealVerifier:
    """Public keys registered with the hub, by (agency, key id): active and retired ones."""

    keys: Mapping[tuple[str, str], RegisteredKey]

    @classmethod
    def of(cls, keys: Iterable[RegisteredKey]) -> SealVerifier:
        return cls({(k.owner, k.key_id): k for k in keys})

    def verify(self, codec: AvroCodec, message: AvroMessage, agency: str) -> str:
        """Check ``message`` carries a valid seal of ``agency``; returns the key id."""
        seal = message.datum.get("seal")
        if not seal:
            raise MissingSeal(f"{message.message_type} from {agency} carries no seal", field="seal")
        key = self.keys.get((agency, str(seal["key_id"])))
        if key is None:
            if not any(owner == agency for owner, _ in self.keys):
                raise UnknownSealKey(f"no sealing key registered for {agency}", field="seal.key_id")
            raise UnknownSealKey(f"seal key {seal['key_id']!r} is not a registered key of {agency}",
                                 field="seal.key_id")
        sent_at = _ms(message.datum.get("envelope", {}).get("sent_at"))
        if not key.covers(sent_at):
            raise InvalidSeal(f"{agency}'s key {key.key_id} was retired at {key.valid_until_ms} ms, before this "
                              f"message was sent ({sent_at} ms)", field="seal.key_id")
        check_signature(codec, message, key.public(), agency)
        return key.key_id


class KeyStore:
    """Key files under ``<data_dir>/keys``: ``<agency>.pem`` (private) and ``registry.json`` (public)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "keys"

    @property
    def registry_path(self) -> Path:
        return self.dir / "registry.json"

    def private_path(self, agency: str) -> Path:
        return self.dir / f"{agency}.pem"

    def generate(self, agencies: Iterable[str], now_ms: int | None = None) -> list[str]:
        """Create a key pair for each agency that has none; returns the agencies given new keys.  A registered
        key whose private key is gone is retired (kept, so what it sealed still verifies), not overwritten."""
        now_ms = _now_ms() if now_ms is None else now_ms
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        registry = self._read_registry()
        created = []
        for agency in agencies:
            if agency in registry and self.private_path(agency).exists():
                continue
            registry[agency] = self._new_key(agency, registry.get(agency), now_ms)
            created.append(agency)
        if created:
            self._write_registry(registry)
        return created

    def rotate(self, agency: str, now_ms: int | None = None) -> tuple[RegisteredKey, RegisteredKey]:
        """A new key for ``agency``; its active key is retired as of ``now_ms`` and kept.  Returns (retired, new)."""
        now_ms = _now_ms() if now_ms is None else now_ms
        registry = self._read_registry()
        if agency not in registry:
            raise ConfigError(f"{agency} has no registered key to rotate; run `interop-hub keys generate`",
                              field="agency")
        old = _active(agency, registry[agency])
        registry[agency] = self._new_key(agency, registry[agency], now_ms)
        self._write_registry(registry)
        return replace(old, valid_until_ms=now_ms), _active(agency, registry[agency])

    def _new_key(self, agency: str, previous: dict[str, Any] | None, now_ms: int) -> dict[str, Any]:
        """A fresh key pair: the private key written (0600), the registry entry returned; ``previous``'s active key
        joins its retired keys."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = self.private_path(agency)
        tmp = path.with_suffix(".pem.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        tmp.replace(path)
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        entry: dict[str, Any] = {"key_id": f"{agency}-{raw[:6].hex()}", "public_key": base64.b64encode(raw).decode(),
                                 "valid_from": now_ms}
        if previous is not None:
            retired = [*previous.get("retired", [])]
            if previous.get("key_id") != entry["key_id"]:
                retired.append({"key_id": previous["key_id"], "public_key": previous["public_key"],
                                "valid_from": int(previous.get("valid_from", 0)), "valid_until": now_ms})
            entry["retired"] = retired
        return entry

    def _write_registry(self, registry: dict[str, Any]) -> None:
        tmp = self.registry_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.registry_path)

    def _read_registry(self) -> dict[str, Any]:
        if not self.registry_path.exists():
            return {}
        data: dict[str, Any] = json.loads(self.registry_path.read_text(encoding="utf-8"))
        return data

    def registered_keys(self) -> list[RegisteredKey]:
        """Every registered key, active and retired, by owner and then validity."""
        keys = []
        for owner, entry in self._read_registry().items():
            keys.append(_active(owner, entry))
            keys.extend(RegisteredKey(owner, str(r["key_id"]), base64.b64decode(r["public_key"]),
                                      int(r.get("valid_from", 0)), int(r["valid_until"]))
                        for r in entry.get("retired", []))
        return sorted(keys, key=lambda k: (k.owner, k.valid_from_ms, k.key_id))

    def signer(self, agency: str) -> tuple[str, Ed25519PrivateKey]:
        registry = self._read_registry()
        if agency not in registry or not self.private_path(agency).exists():
            raise ConfigError(f"no sealing key for {agency}; run `interop-hub keys generate`", field="keys")
        key = serialization.load_pem_private_key(self.private_path(agency).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{agency}'s key is not Ed25519", field="keys")
        return str(registry[agency]["key_id"]), key

    def public_key_b64(self, name: str) -> str:
        """A registered public key as published (base64 of the raw Ed25519 key)."""
        entry = self._read_registry().get(name)
        if entry is None:
            raise ConfigError(f"no public key of {name} in {self.registry_path}", field="keys")
        return str(entry["public_key"])

    def verifier(self) -> SealVerifier:
        return SealVerifier.of(self.registered_keys())


def _active(owner: str, entry: Mapping[str, Any]) -> RegisteredKey:
    return RegisteredKey(owner, str(entry["key_id"]), base64.b64decode(entry["public_key"]),
                         int(entry.get("valid_from", 0)))


def _now_ms() -> int:
    return int(time.time() * 1000)
