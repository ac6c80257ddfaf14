"""The seal (电子印章) as the guide's §5 says: Ed25519 over the single-object encoding of the whole message
with ``seal`` null; ``algorithm`` ``Ed25519``; ``signature`` the 64 raw bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .wire import Codec, Decoded

ALGORITHM = "Ed25519"


class SealError(ValueError):
    """A message without a seal, or whose seal is not Ed25519."""


def load_private_key(pem_path: Path) -> Ed25519PrivateKey:
    """A party's own key as the operator hands it over: ``<data_dir>/keys/<code>.pem`` (PKCS#8 PEM, §5)."""
    key = serialization.load_pem_private_key(Path(pem_path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SealError(f"{pem_path} is not an Ed25519 key")
    return key


def key_id_of(key: Ed25519PrivateKey, code: str) -> str:
    """§5: ``<code>-<first 6 bytes of the public key in hex>``, the id ``interop-hub keys generate`` gives."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{code}-{raw[:6].hex()}"


def canonical_bytes(codec: Codec, message: Decoded) -> bytes:
    """The bytes the seal signs: the message with ``seal`` null, single-object encoded."""
    return codec.encode(message.name, {**message.datum, "seal": None})


def seal(codec: Codec, name: str, datum: dict[str, Any], key: Ed25519PrivateKey, key_id: str) -> bytes:
    """Build with ``seal`` null, encode, sign those bytes, fill in the seal, encode again (§5)."""
    unsealed = {**datum, "seal": None}
    signature = key.sign(codec.encode(name, unsealed))
    return codec.encode(name, {**unsealed, "seal": {"key_id": key_id, "algorithm": ALGORITHM,
                                                      "signature": signature}})


def verify(codec: Codec, raw: bytes, public: Ed25519PublicKey) -> Decoded:
    """Decode ``raw`` and check its seal with ``public`` (raises ``InvalidSignature`` or :class:`SealError`)."""
    message = codec.decode(raw)
    stamp = message.datum.get("seal")
    if stamp is None:
        raise SealError(f"{message.name} carries no seal")
    if stamp["algorithm"] != ALGORITHM:
        raise SealError(f"seal algorithm {stamp['algorithm']!r}")
    public.verify(stamp["signature"], canonical_bytes(codec, message))
    return message
