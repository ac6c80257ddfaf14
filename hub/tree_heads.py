"""Signed tree heads of the audit log: (chain, size, root, time) signed by the hub's Ed25519 key.

A tree head commits the hub to the first ``size`` entries of one chain (one hub partition's audit
log, :mod:`hub.audit_log`): whoever holds one can later demand a consistency proof that the log still
starts with exactly those entries (RFC 9162 §2.1.4), and an inclusion proof of any of them.  The
signature covers a fixed text line, so a verifier needs no Avro, no broker and no hub code besides
:func:`verify_head` (see :mod:`hub.audit_proofs`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import HubError

#: the key the hub signs its tree heads with, registered with the agencies' keys (``interop-hub keys``)
HUB_KEY = "hub"
PREFIX = "interop-hub tree head v1"


class InvalidTreeHead(HubError):
    code = "invalid_tree_head"


@dataclass(frozen=True, slots=True)
class TreeHead:
    chain: int  # the hub partition whose audit log this is
    size: int  # entries in the tree
    root: bytes  # RFC 9162 tree hash over those entries
    timestamp_ms: int
    key_id: str = ""
    signature: bytes = b""

    def signed_text(self) -> bytes:
        """What the signature covers (one line of text; nothing else is trusted)."""
        return f"{PREFIX}\nchain={self.chain}\nsize={self.size}\nroot={self.root.hex()}\n" \
               f"timestamp_ms={self.timestamp_ms}\n".encode("ascii")

    def to_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "size": self.size, "root": self.root.hex(), "timestamp_ms": self.timestamp_ms,
                "key_id": self.key_id, "signature": base64.b64encode(self.signature).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeHead:
        try:
            return cls(int(data["chain"]), int(data["size"]), bytes.fromhex(str(data["root"])),
                       int(data["timestamp_ms"]), str(data.get("key_id", "")),
                       base64.b64decode(str(data.get("signature", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidTreeHead(f"not a tree head: {exc}", field="tree_head") from exc


def sign_head(head: TreeHead, key_id: str, key: Ed25519PrivateKey) -> TreeHead:
    unsigned = TreeHead(head.chain, head.size, head.root, head.timestamp_ms, key_id)
    return TreeHead(head.chain, head.size, head.root, head.timestamp_ms, key_id, key.sign(unsigned.signed_text()))


def verify_head(head: TreeHead, public_key: Ed25519PublicKey) -> None:
    """Raises :class:`InvalidTreeHead` unless the hub's key signed exactly this head."""
    try:
        public_key.verify(head.signature, head.signed_text())
    except InvalidSignature:
        raise InvalidTreeHead(f"chain {head.chain} size {head.size}: the signature is not the hub's",
                              field="signature") from None


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """The hub's public key as published in the key registry (``registry.json``: base64 of the raw key)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip()))
    except ValueError as exc:
        raise InvalidTreeHead(f"not an Ed25519 public key: {exc}", field="public_key") from exc
