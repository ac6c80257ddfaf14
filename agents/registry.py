"""What a party reads of the hub's published registry: every party's sealing keys (``registry.keys``) and the court
registry with its execution accounts (``registry.courts``), each record checked against the hub's public key.

The hub's public key is the trust anchor: each party is given it out of band when it joins (the ``public_key`` of
entry ``hub`` in the hub's ``keys/registry.json``: base64 of the 32 raw Ed25519 bytes; compare it over a second
channel, e.g. read it out on the phone), never from a topic.  With it, a party verifies any receipt from what it
can read (:meth:`PublishedRegistry.verifier`), a rotated bank key included: retired keys stay published.

>>> registry = await read_registry(settings, hub_public_key("<base64 of the hub's key>"))
>>> registry.verifier().verify(codec, reply, "icbc")      # the seal of a stored receipt
>>> registry.court("京0105").account_for("CNY")            # where a deduction must land
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.codec import AvroCodec, default_codec
from hub.compacted import read_latest
from hub.errors import HubError, UnknownSealKey
from hub.registry_records import key_record_key, read_court, read_key
from hub.seal import RegisteredKey, SealVerifier
from hub.settings import HubSettings
from hub.tree_heads import public_key_from_b64
from topics.catalog import Role
from topics.courts import Court

log = logging.getLogger(__name__)


class UnknownCourt(HubError):
    """No court of that code is in the registry the hub published."""

    code = "unknown_court"


def hub_public_key(text: str) -> Ed25519PublicKey:
    """The trust anchor from its published form (base64 of the 32 raw bytes)."""
    return public_key_from_b64(text)


@dataclass(frozen=True)
class PublishedRegistry:
    """The keys and courts as read, every record sealed by the hub; ``refused``: record key -> why it was not taken."""

    keys: Mapping[tuple[str, str], RegisteredKey]
    courts: Mapping[str, Court]
    refused: Mapping[str, str]

    @classmethod
    def from_records(cls, codec: AvroCodec, key_records: Mapping[str, bytes | None],
                     court_records: Mapping[str, bytes | None], anchor: Ed25519PublicKey) -> PublishedRegistry:
        """From the last record of every key of both topics; a record the hub did not seal is refused (logged)."""
        keys: dict[tuple[str, str], RegisteredKey] = {}
        courts: dict[str, Court] = {}
        refused: dict[str, str] = {}
        for record_key, raw in sorted(key_records.items()):
            if raw is None:
                continue  # the hub never deletes a key; a tombstone removes nothing it vouched for
            try:
                key = read_key(codec, record_key, raw, anchor)
            except HubError as exc:
                refused[f"registry.keys/{record_key}"] = str(exc)
                continue
            keys[(key.owner, key.key_id)] = key
        for record_key, raw in sorted(court_records.items()):
            if raw is None:
                continue  # a court that left the registry
            try:
                courts[record_key] = read_court(codec, record_key, raw, anchor)
            except HubError as exc:
                refused[f"registry.courts/{record_key}"] = str(exc)
        for where, why in refused.items():
            log.warning("published registry: %s refused: %s", where, why)
        return cls(keys, courts, refused)

    def key(self, agency: str, key_id: str) -> RegisteredKey:
        found = self.keys.get((agency, key_id))
        if found is None:
            raise UnknownSealKey(f"no published key {agency}/{key_id}", field="seal.key_id")
        return found

    def court(self, code: str) -> Court:
        found = self.courts.get(code)
        if found is None:
            raise UnknownCourt(f"court {code!r} is not in the published registry", field="court_code")
        return found

    def verifier(self) -> SealVerifier:
        """Verifies seals with the published keys (:meth:`hub.seal.SealVerifier.verify`), retired ones included."""
        return SealVerifier.of(self.keys.values())

    def key_ids(self) -> list[str]:
        return sorted(key_record_key(k) for k in self.keys.values())


async def read_registry(settings: HubSettings, anchor: Ed25519PublicKey,
                        codec: AvroCodec | None = None) -> PublishedRegistry:
    """Both topics read to their end with ``settings``' login (any principal may read them), every record checked."""
    codec = codec or default_codec()
    catalog = settings.catalog
    key_records = await read_latest(settings, settings.topic(catalog.one(Role.PUBLISHED_KEYS).name))
    court_records = await read_latest(settings, settings.topic(catalog.one(Role.PUBLISHED_COURTS).name))
    return PublishedRegistry.from_records(codec, key_records, court_records, anchor)
