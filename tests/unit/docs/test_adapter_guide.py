"""``docs/adapters.md`` says what the code does: every vector block and every marked table is checked here.

A block marked ``<!-- vector: NAME -->`` is a fenced ``text`` block the code must make byte for byte
(:mod:`tests.unit.docs.freeze_vectors` makes them); a table marked ``<!-- table: NAME -->`` lists facts of the
catalog, the court registry, the deadline rules or the error codes.  Where the guide explains how to compute
something (the seal's canonical bytes, the envelope's encoding, the list digest), the test also computes it from the
guide's words alone, without the project's code, so the prose cannot drift from the bytes either.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import hub.errors as hub_errors
import hub.flows.sweeps.messages  # noqa: F401  (defines error codes of its own)
from hub.deadlines import LIST_RULES, RULES, RULES_BY_ID, SWEEP_GROUND_RULE, TERM_END_RULE, deadline_ms
from hub.errors import HubError, InvalidSeal
from hub.flows.credit.list_state import canonical, list_digest
from hub.memory_backend import MemoryHub
from hub.outbound import DELIVERED_AT
from hub.registry_records import InvalidPublication, read_key
from hub.seal import RegisteredKey, SealVerifier
from hub.working_calendar import WorkingCalendar
from tests.unit.docs import freeze_vectors as fv
from topics.catalog import DEFAULT_CATALOG, acl_grants
from topics.courts import COURTS

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "adapters.md"
TEXT = GUIDE.read_text(encoding="utf-8")
CHINA = "+08:00"


def vectors() -> dict[str, str]:
    found = re.findall(r"<!-- vector: ([a-z0-9.\-]+) -->\n```text\n(.*?)\n```", TEXT, flags=re.S)
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), "a vector block named twice"
    return dict(found)


def table(name: str) -> list[list[str]]:
    """The rows of the table marked ``name`` (header and separator dropped), cells stripped."""
    start = TEXT.index(f"<!-- table: {name} -->\n") + len(f"<!-- table: {name} -->\n")
    rows = []
    for line in TEXT[start:].splitlines():
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2, f"table {name} is empty"
    return rows[2:]


def plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def names_in(cell: str) -> list[str]:
    """The message names (CamelCase in backticks) of a cell."""
    return re.findall(r"`([A-Z][A-Za-z]+)`", cell)


@pytest.fixture(scope="module")
def trip() -> fv.RoundTrip:
    return fv.round_trip()


# --- the vectors --------------------------------------------------------------------------------------------
def test_every_vector_block_is_what_the_code_makes(trip: fv.RoundTrip) -> None:
    made = {**fv.blocks(trip), **fv.registry_blocks(), **fv.digest_blocks()}
    written = vectors()
    assert sorted(written) == sorted(made), "the guide's vector blocks and the generator's differ in name"
    for name, text in made.items():
        assert written[name] == text, f"vector {name} is stale: run `python -m tests.unit.docs.freeze_vectors`"


def test_the_seal_signs_the_single_object_encoding_with_seal_null_000_s8() -> None:
    """The guide's rule, computed without the hub: Ed25519 over C3 01, the fingerprint and the datum with seal
    null, which is the sealed bytes cut before the seal plus the null branch 00."""
    v = vectors()
    seed, public = bytes.fromhex(v["seal.seed"]), bytes.fromhex(v["seal.public-key"])
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert key.public_key().public_bytes_raw() == public
    assert v["seal.key-id"] == f"icbc-{public[:6].hex()}"
    canonical_bytes = fv.parse_hex_lines(v["seal.canonical"])
    signature = bytes.fromhex(v["seal.signature"])
    Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical_bytes)
    assert canonical_bytes[:2] == b"\xc3\x01"
    assert canonical_bytes[2:10] == fv.CODEC.registry.by_name(fv.FREEZE_REPLY).fingerprint
    assert canonical_bytes[-1:] == b"\x00", "seal = null is union branch 0"
    key_id = v["seal.key-id"].encode()
    seal = b"\x02" + bytes([2 * len(key_id)]) + key_id + b"\x0eEd25519" + b"\x80\x01" + signature
    assert fv.parse_hex_lines(v["freeze.reply.value"]) == canonical_bytes[:-1] + seal
    with pytest.raises(InvalidSignature):  # the signature covers the envelope: readdressing breaks it
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical_bytes.replace(b"\x06hub", b"\x06huc"))


def test_the_hub_verifies_the_guides_reply_with_the_registered_key_000_s8() -> None:
    v = vectors()
    reply = fv.CODEC.decode(fv.parse_hex_lines(v["freeze.reply.value"]))
    public = bytes.fromhex(v["seal.public-key"])
    verifier = SealVerifier.of([RegisteredKey("icbc", v["seal.key-id"], public)])
    assert verifier.verify(fv.CODEC, reply, "icbc") == v["seal.key-id"]
    with pytest.raises(InvalidSeal):  # a key retired before the reply was sent does not verify it
        retired = RegisteredKey("icbc", v["seal.key-id"], public, valid_until_ms=fv.ms(fv.EXECUTED_AT))
        SealVerifier.of([retired]).verify(fv.CODEC, reply, "icbc")


def _zigzag_varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _zigzag_varint(len(raw)) + raw


def test_the_request_starts_as_the_guide_decodes_it_field_by_field() -> None:
    """§7's table, encoded by hand: marker, fingerprint, the envelope's fields, then the case number."""
    value = fv.parse_hex_lines(vectors()["freeze.request.value"])
    expected = (b"\xc3\x01" + bytes.fromhex("afb7891d7d9b205b") + _string(fv.REQUEST_MESSAGE_ID)
                + _string(fv.REQUEST_ID) + b"\x00" + _string("京0105") + _string("icbc")
                + _zigzag_varint(1772416800000) + _zigzag_varint(1) + _string(fv.CASE_NUMBER))
    assert value[:len(expected)] == expected
    assert len(expected) == 0x69 + 26 and len(value) == 584
    assert value[2:10] == fv.CODEC.registry.by_name(fv.FREEZE_REQUEST).fingerprint
    assert bytes.fromhex(vectors()["freeze.request.key"]).decode() == fv.CASE_NUMBER


def test_a_forwarded_request_and_its_reply_travel_byte_for_byte_000_s16(trip: fv.RoundTrip) -> None:
    """The inbox gets the court's bytes with the delivery time in ``delivered-at``; the court gets the bank's bytes
    (recipient ``hub``), keyed by the case number, without headers."""
    v = vectors()
    key = bytes.fromhex(v["freeze.request.key"])
    assert trip.inbox == (key, trip.request_value, ((DELIVERED_AT, str(fv.ms(fv.DELIVERED_AT_TIME)).encode()),))
    assert v["freeze.inbox.headers"] == f"delivered-at: {fv.ms(fv.DELIVERED_AT_TIME)}"
    assert trip.court_reply == (key, trip.reply_value, ())
    reply = fv.CODEC.decode(trip.court_reply[1] or b"")
    assert (reply.envelope["sender"], reply.envelope["recipient"]) == ("icbc", "hub")
    assert fv.ms(reply.body["delivered_at"]) == int(trip.inbox[2][0][1])
    row = json.loads(v["freeze.row"])
    assert (row["due"] - row["accepted"], row["warn"] - row["accepted"]) == (48 * 3_600_000, 36 * 3_600_000)
    assert row["p"] == fv.partition_of(key) == int(re.search(r"goes to partition\s+(\d+) of 12", TEXT)[1])  # type: ignore[index]


def test_the_published_key_verifies_with_the_hub_key_only() -> None:
    """§6: a registry record is taken only if the hub's key (the anchor given out of band) verifies it."""
    v = vectors()
    anchor = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["registry.hub-seed"])).public_key()
    assert anchor.public_bytes_raw().hex() == v["registry.hub-public-key"]
    record_key, value = v["registry.key-record.key"], fv.parse_hex_lines(v["registry.key-record.value"])
    key = read_key(fv.CODEC, record_key, value, anchor)
    assert (key.owner, key.key_id, key.public_key.hex(), key.valid_until_ms) == (
        "icbc", v["seal.key-id"], v["seal.public-key"], None)
    with pytest.raises(InvalidPublication):
        read_key(fv.CODEC, record_key, value, Ed25519PublicKey.from_public_bytes(bytes.fromhex(v["seal.public-key"])))
    with pytest.raises(InvalidPublication):
        read_key(fv.CODEC, "icbc/another-key", value, anchor)


def _digest_as_written(lines: list[str]) -> str:
    """§12's four steps, from the guide alone."""
    total = 0
    for line in lines:
        total = (total + int.from_bytes(hashlib.shake_256(line.encode()).digest(128), "big")) % (1 << 1024)
    payload = b"cn.court.interop.credit.list/v1\n" + len(lines).to_bytes(8, "big") + total.to_bytes(128, "big")
    return hashlib.sha256(payload).hexdigest()


def test_the_list_digest_vectors_follow_the_written_steps_art_10() -> None:
    v = vectors()
    lines = v["digest.entries"].splitlines()
    entries = [json.loads(line) for line in lines]
    assert [canonical(e).decode() for e in entries] == lines, "the entries are given in canonical form"
    for n, line in enumerate(lines, start=1):
        assert hashlib.shake_256(line.encode()).digest(128) == fv.parse_hex_lines(v[f"digest.entry-hash.{n}"])
    assert _digest_as_written([]) == list_digest([]) == v["digest.empty"]
    assert _digest_as_written(lines[:1]) == list_digest(entries[:1]) == v["digest.one"]
    assert _digest_as_written(lines) == _digest_as_written(lines[::-1]) == list_digest(entries) == v["digest.two"]


# --- the tables ---------------------------------------------------------------------------------------------
def test_the_agencies_table_is_the_catalog() -> None:
    rows = [[plain(c) for c in row] for row in table("agencies")]
    assert rows == [[a.code, a.principal, a.kind.value, f"{a.name_zh} ({a.name_en})", a.region or ""]
                    for a in DEFAULT_CATALOG.agencies]


def test_the_courts_table_is_the_registry_of_execution_accounts_004_s19() -> None:
    rows = [[plain(c) for c in row] for row in table("courts")]
    assert rows == [[c.code, c.name, c.place_code, a.currency, a.bank_name, a.account_number, a.account_name]
                    for c in COURTS for a in c.accounts]


def test_the_topics_table_is_what_the_acls_grant() -> None:
    grants = acl_grants(DEFAULT_CATALOG)
    for party, reads, writes in table("topics"):
        principal = re.search(r"\(`([^`]+)`\)", party)[1]  # type: ignore[index]
        granted = {op: {g.topic for g in grants if g.principal == principal and g.operation == op}
                   for op in ("READ", "WRITE")}
        assert set(re.findall(r"`([^`]+)`", reads)) == granted["READ"], principal
        assert set(re.findall(r"`([^`]+)`", writes)) == granted["WRITE"], principal


def test_the_court_requests_table_names_every_court_route_and_its_rule_spec_6(full_hub: MemoryHub) -> None:
    rows = table("court-requests")
    listed = [name for row in rows for name in names_in(row[0])]
    assert sorted(listed) == sorted(s.rpartition(".")[2] for s in full_hub.ctx.hooks.court_routes)
    for row in rows:
        for name in names_in(row[0]):
            rules = [RULES[name].rule_id] if name in RULES else []
            rules += [r.rule_id for r in LIST_RULES.values()] if name == "ListDecision" else []
            assert all(f"`{rule}`" in row[3] for rule in rules), (name, row[3])
            assert rules or row[3] == "—" or row[3] == "per unit" or row[3] == "per agency", (name, row[3])


def test_the_agency_outbox_table_names_every_agency_route(full_hub: MemoryHub) -> None:
    listed = [name for row in table("agency-outbox") for name in names_in(row[0])]
    assert sorted(listed) == sorted(s.rpartition(".")[2] for s in full_hub.ctx.hooks.agency_routes)


def test_the_deadline_rules_table_is_hub_deadlines_spec_6() -> None:
    rows = table("deadline-rules")
    assert sorted(plain(row[0]) for row in rows) == sorted(RULES_BY_ID)
    by_rule = {
        **{r.rule_id: {t for t, rule in RULES.items() if rule is r} for r in RULES.values()},
        **{r.rule_id: {"ListDecision"} for r in LIST_RULES.values()},
        TERM_END_RULE.rule_id: set(), SWEEP_GROUND_RULE.rule_id: set(),
    }
    for rule_id, requests, period, _, source in rows:
        rule = RULES_BY_ID[plain(rule_id)]
        assert plain(source) == rule.source
        number, unit = re.match(r"(\d+) (hours|working days)", period).groups()  # type: ignore[union-attr]
        assert (int(number), unit) == ((rule.hours, "hours") if rule.hours else (rule.working_days, "working days"))
        assert {n for n in names_in(requests) if n in RULES or n == "ListDecision"} == by_rule[rule.rule_id]


def test_the_deadline_examples_are_what_the_working_calendar_counts_spec_6() -> None:
    calendar = WorkingCalendar()  # the library's official calendar, no schedule file
    for request, delivered, warning, due, provisional in table("deadline-examples"):

        def at(cell: str) -> int:
            return int(datetime.fromisoformat(cell.replace(" ", "T") + CHINA).timestamp() * 1000)

        deadline = deadline_ms(plain(request), at(delivered), calendar)
        assert deadline is not None
        assert (deadline.warn_ms, deadline.due_ms, deadline.provisional) == (
            at(warning), at(due), provisional == "yes"), request


def _fields(schema: str, part: str | None = None) -> list[str]:
    """The field names of a message schema (or of its ``part`` record), in order."""
    parsed = fv.CODEC.registry.by_name(schema).parsed
    record = parsed if part is None else next(f["type"] for f in parsed["fields"] if f["name"] == part)
    return [f["name"] for f in record["fields"]]


def _listed_fields(name: str) -> list[str]:
    return [field for row in table(name) for field in re.findall(r"`([a-z_]+)`", row[0])]


def test_the_envelope_and_error_reply_tables_name_every_field_in_order() -> None:
    assert _listed_fields("envelope") == _fields(fv.FREEZE_REQUEST, "envelope")
    assert _listed_fields("error-reply") == _fields("cn.court.interop.ops.ErrorReply", "body")


def test_the_request_row_table_names_every_field_of_requests_id(trip: fv.RoundTrip) -> None:
    """``/requests/{id}``'s fields: every key of a row (``from`` only when the period runs from elsewhere)."""
    assert set(_listed_fields("request-row")) == {*trip.row, "from"}


def _codes(cls: type[HubError]) -> set[str]:
    found = {cls.code}
    for sub in cls.__subclasses__():
        found |= _codes(sub)
    return found


def test_the_error_codes_table_lists_every_code_an_error_reply_can_carry() -> None:
    listed = {plain(row[0]) for row in table("error-codes")}
    assert listed <= _codes(HubError), listed - _codes(HubError)
    replied = set().union(*(_codes(c) for c in (hub_errors.CodecError, hub_errors.ValidationError,
                                                hub_errors.RoutingError, hub_errors.SealError,
                                                hub_errors.InternalError)))
    never_in_a_reply = {"routing_error", "seal_error",  # bases never raised themselves
                        "delivery_failed", "send_lost"}  # the producer's: they stop the worker, no reply
    assert listed == replied - never_in_a_reply
