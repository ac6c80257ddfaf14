"""Proofs about the audit log that anyone can check offline: only the proof, the tree head and the hub's key.

* An **inclusion proof** shows that one entry (say, the ACCEPT of a court's own request) is entry
  ``index`` of the chain whose first ``size`` entries the hub signed (RFC 9162 §2.1.3).
* A **consistency proof** shows that a later signed tree head extends an earlier one: the log was never
  rewritten between them (RFC 9162 §2.1.4).

Both are JSON documents (``interop-hub audit prove`` / ``audit consistency`` write them);
``python -m hub.audit_proofs check FILE --public-key KEY`` checks one with nothing but this module,
:mod:`hub.merkle`, :mod:`hub.tree_heads` and ``cryptography`` — no broker, no Avro.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.errors import HubError
from hub.merkle import ProofError, consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion
from hub.tree_heads import TreeHead, public_key_from_b64, verify_head

INCLUSION = "inclusion"
CONSISTENCY = "consistency"


@dataclass(frozen=True)
class InclusionBundle:
    head: TreeHead
    index: int
    entry: bytes  # the entry's bytes (an AuditRecord, single-object encoded)
    proof: tuple[bytes, ...]
    summary: dict[str, Any]  # what the entry says, for the reader (not part of what is proven)

    def to_json(self) -> dict[str, Any]:
        return {"kind": INCLUSION, "tree_head": self.head.to_json(), "index": self.index,
                "entry": base64.b64encode(self.entry).decode("ascii"), "proof": [p.hex() for p in self.proof],
                "entry_summary": self.summary}


@dataclass(frozen=True)
class ConsistencyBundle:
    old: TreeHead
    new: TreeHead
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": CONSISTENCY, "old_tree_head": self.old.to_json(), "new_tree_head": self.new.to_json(),
                "proof": [p.hex() for p in self.proof]}


def prove_inclusion(head: TreeHead, leaves: Sequence[bytes], index: int, entry: bytes,
                    summary: dict[str, Any]) -> InclusionBundle:
    """``leaves``: the chain's leaf hashes (at least ``head.size`` of them)."""
    return InclusionBundle(head, index, entry, tuple(inclusion_proof(index, leaves[:head.size])), summary)


def prove_consistency(old: TreeHead, new: TreeHead, leaves: Sequence[bytes]) -> ConsistencyBundle:
    if old.chain != new.chain:
        raise ProofError(f"tree heads of chains {old.chain} and {new.chain} cannot be consistent", field="chain")
    return ConsistencyBundle(old, new, tuple(consistency_proof(old.size, leaves[:new.size])))


def check_bundle(data: dict[str, Any], public_key: Ed25519PublicKey) -> str:
    """Check a proof document; what it proved, or :class:`~hub.errors.HubError` saying why not."""
    kind = data.get("kind")
    proof = [bytes.fromhex(p) for p in data.get("proof", [])]
    if kind == INCLUSION:
        head = TreeHead.from_json(data["tree_head"])
        verify_head(head, public_key)
        entry = base64.b64decode(data["entry"])
        index = int(data["index"])
        verify_inclusion(leaf_hash(entry), index, head.size, proof, head.root)
        return (f"entry {index} of chain {head.chain} is in the log the hub signed at size {head.size} "
                f"({head.timestamp_ms} ms)")
    if kind == CONSISTENCY:
        old, new = TreeHead.from_json(data["old_tree_head"]), TreeHead.from_json(data["new_tree_head"])
        verify_head(old, public_key)
        verify_head(new, public_key)
        if old.chain != new.chain:
            raise ProofError("the two tree heads are of different chains", field="chain")
        verify_consistency(old.size, new.size, old.root, new.root, proof)
        return f"chain {old.chain}: the log at size {new.size} extends the one signed at size {old.size}"
    raise ProofError(f"unknown proof kind {kind!r}", field="kind")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.audit_proofs",
                                     description="check an audit-log proof offline")
    sub = parser.add_subparsers(dest="cmd", required=True)
    chk = sub.add_parser("check", help="check an inclusion or consistency proof (JSON)")
    chk.add_argument("proof", type=Path)
    chk.add_argument("--public-key", required=True,
                     help="the hub's Ed25519 public key, base64 (the 'hub' entry of the published key registry)")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.proof.read_text(encoding="utf-8"))
        documents = data if isinstance(data, list) else [data]
        key = public_key_from_b64(args.public_key)
        for document in documents:
            print(f"OK: {check_bundle(document, key)}")  # noqa: T201
    except (HubError, OSError, ValueError, KeyError) as exc:
        print(f"NOT PROVEN: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
