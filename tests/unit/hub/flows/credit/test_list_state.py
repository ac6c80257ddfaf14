"""The list digest, a consumer's store, joint-punishment measures and consumption restriction."""

from __future__ import annotations

import gc
import json
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest

from agents.credit.joint import JointUnit
from agents.credit.replay import collector_paused
from agents.credit.store import ListStore
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.envelope import envelope, message
from hub.errors import ListDigestMismatch
from hub.flows.credit.list_state import EMPTY_DIGEST, DigestAccumulator, PublicationOrderError, canonical, list_digest
from hub.flows.credit.messages import EVENT
from hub.flows.credit.sequencer import Sequencer
from tests.unit.hub.flows.credit.test_list_rules import ADULT, CASE_NO, decision, publish

CODEC = default_codec()
CLOCK = ManualClock(datetime(2025, 1, 2, 1, tzinfo=UTC))


def encoded(event: dict[str, Any]) -> bytes:
    env = envelope(CLOCK, request_id=str(event["decision_request_id"]), recipient="list-readers")
    return CODEC.encode_message(message(EVENT, env, event))


def history(n: int = 30, seed: int = 7) -> tuple[Sequencer, list[bytes]]:
    rng = random.Random(seed)
    seq, out = Sequencer(), []
    live: list[str] = []
    for _ in range(n):
        if live and rng.random() < 0.3:
            lid = live.pop(rng.randrange(len(live)))
            ev = publish(seq, decision("REVOKE", lid, reason="不应纳入"))
        else:
            ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
            live.append(ev["listing_id"])
        out.append(encoded(ev))
    return seq, out


def test_digest_is_order_independent_and_incremental() -> None:
    seq, _ = history()
    entries = list(seq.state.entries.values())
    acc = DigestAccumulator()
    for e in reversed(entries):
        acc.add(e)
    assert acc.hexdigest() == list_digest(entries) == list_digest(reversed(entries)) == seq.state.hexdigest()
    acc.remove(entries[0])
    assert acc.hexdigest() == list_digest(entries[1:]) != seq.state.hexdigest()
    assert list_digest([]) == EMPTY_DIGEST and len(EMPTY_DIGEST) == 64


def test_canonical_form_survives_the_avro_round_trip() -> None:
    """The consumer hashes what it decoded; the hub hashed what it built: they must agree."""
    seq, raws = history(5)
    decoded = CODEC.decode(raws[-1]).body
    assert decoded["list_digest"] == seq.state.hexdigest()
    lid = decoded["listing_id"]
    assert canonical(decoded["entry"]) == canonical(seq.state.entries[lid])


def test_store_rebuilt_from_the_log_has_the_hub_digest(tmp_path: Any) -> None:
    seq, raws = history(40)
    store = ListStore(tmp_path / "platform.sqlite", CODEC)
    assert store.apply_batch([(i, raw, CODEC.decode(raw).body) for i, raw in enumerate(raws)]) == 40
    assert store.digest() == seq.state.hexdigest() == store.published_digest()
    store.close()
    reopened = ListStore(tmp_path / "platform.sqlite", CODEC)  # a restart reloads the same copy
    assert reopened.digest() == seq.state.hexdigest() and reopened.next_offset == 40
    assert reopened.apply_batch([(0, raws[0], CODEC.decode(raws[0]).body)]) == 0  # re-delivery ignored
    exported = list(reopened.export_lines())
    assert [json.loads(line)["listing_id"] for line in exported] == sorted(seq.state.entries)
    reopened.close()


def test_lookup_says_whether_and_why_and_as_of_a_past_moment() -> None:
    seq = Sequencer()
    store = ListStore(":memory:", CODEC)
    first = publish(seq, decision(ground="ABLE_BUT_REFUSING"), now=datetime(2025, 1, 2, 2, tzinfo=UTC))
    gone = publish(seq, decision("REVOKE", first["listing_id"], reason="不应纳入"),
                   now=datetime(2025, 1, 3, 2, tzinfo=UTC))
    store.apply_batch([(i, encoded(e), CODEC.decode(encoded(e)).body) for i, e in enumerate([first, gone])])
    now = store.lookup(ADULT, include_removed=True)
    assert not now.listed and now.removed_listing_ids == [first["listing_id"]]
    then = store.lookup(ADULT, as_of_ms=int(datetime(2025, 1, 2, 12, tzinfo=UTC).timestamp() * 1000))
    assert then.listed and then.entries[0]["ground"] == "ABLE_BUT_REFUSING"
    assert then.entries[0]["content"]["dishonest_behaviour"]


def test_listing_implies_consumption_restriction_but_not_the_reverse_004_s23() -> None:
    """004 §23: 纳入失信名单同时限制消费; 仅符合限制消费情形的，不得纳入失信名单."""
    seq = Sequencer()
    store = ListStore(":memory:", CODEC)
    other = "110105198502020011"
    assert store.place_restriction("XF1", other, CASE_NO, 1)
    assert store.consumption_restricted(other) and not store.is_listed(other)
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"))
    store.apply_batch([(0, encoded(ev), CODEC.decode(encoded(ev)).body)])
    assert store.is_listed(ADULT) and store.consumption_restricted(ADULT)
    assert store.lift_restriction("XF1", 2, "PERFORMED") and not store.consumption_restricted(other)
    assert not store.lift_restriction("XF1", 3, "PERFORMED")  # already lifted


def test_joint_unit_restricts_while_listed_and_lifts_at_the_moment_of_deletion() -> None:
    """Tendering notice §4: restrictions end when the listing is deleted; memo §2 real-time updates."""
    seq = Sequencer()
    listed_at = datetime(2025, 1, 2, 2, tzinfo=UTC)
    deleted_at = datetime(2025, 1, 9, 3, tzinfo=UTC)
    ev = publish(seq, decision(ground="ABLE_BUT_REFUSING"), now=listed_at)
    gone = publish(seq, decision("DELETE", ev["listing_id"], day=date(2025, 1, 9), deletion_ground="PERFORMED"),
                   now=deleted_at)
    unit = JointUnit("caac", ListStore(":memory:", CODEC))
    unit.apply([(0, encoded(ev), CODEC.decode(encoded(ev)).body)])
    assert not unit.check(ADULT).allowed and unit.check(ADULT).listing_ids == [ev["listing_id"]]
    unit.apply([(1, encoded(gone), CODEC.decode(encoded(gone)).body)])
    assert unit.check(ADULT).allowed
    assert unit.periods(ADULT) == [(ev["listing_id"], int(listed_at.timestamp() * 1000),
                                    int(deleted_at.timestamp() * 1000))]


# --- verification of every publication while a copy is rebuilt ---------------------------------------------
def _tampered(raws: list[bytes], index: int, change: Any) -> list[bytes]:
    out = list(raws)
    msg = CODEC.decode(raws[index])
    change(msg.body)
    out[index] = CODEC.encode_message(msg)
    return out


def _rows(raws: list[bytes]) -> list[tuple[int, bytes, dict[str, Any]]]:
    return [(i, raw, CODEC.decode(raw).body) for i, raw in enumerate(raws)]


def test_a_wrong_published_digest_is_named_at_its_publication_not_at_the_batch_end() -> None:
    _seq, raws = history(40)
    bad = _tampered(raws, 16, lambda body: body.update(list_digest="0" * 64))
    store = ListStore(":memory:", CODEC)
    with pytest.raises(ListDigestMismatch, match="after publication 17 ") as info:
        store.apply_batch(_rows(bad))  # one batch of 40: the 17th is refused, not the 40th
    assert info.value.code == "list_digest_mismatch" and "0" * 64 in str(info.value)
    assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0  # nothing of the batch stored


def test_a_corrupt_entry_revoked_later_in_the_same_batch_is_still_caught() -> None:
    """The digest after each publication is checked, so a divergence that the end of the batch would no
    longer show (the listing is revoked again before it) is reported where it happened."""
    _seq, raws = history(40)
    bodies = [CODEC.decode(r).body for r in raws]
    revoked = {b["listing_id"] for b in bodies if b["action"] == "REVOKE"}
    first = next(i for i, b in enumerate(bodies) if b["action"] == "LIST" and b["listing_id"] in revoked)
    bad = _tampered(raws, first, lambda body: body["entry"]["content"].update(obligation="支付1元"))
    store = ListStore(":memory:", CODEC)
    with pytest.raises(ListDigestMismatch, match=f"after publication {first + 1} "):
        store.apply_batch(_rows(bad))
    unverified = ListStore(":memory:", CODEC)
    unverified.apply_batch(_rows(bad), verify=False)
    assert unverified.digest() == bodies[-1]["list_digest"], "the end of the batch alone would not show it"


def test_apply_each_gives_the_digest_after_each_publication_and_apply_batch_counts() -> None:
    _seq, raws = history(25)
    rows = _rows(raws)
    each = ListStore(":memory:", CODEC).apply_each(rows)
    assert [d for _b, d in each] == [b["list_digest"] for _o, _r, b in rows]
    store = ListStore(":memory:", CODEC)
    assert store.apply_batch(rows[:10]) == 10 and store.apply_batch(rows) == 15  # re-deliveries are skipped
    assert store.next_offset == 25 and store.digest() == rows[-1][2]["list_digest"]
    with pytest.raises(PublicationOrderError):
        ListStore(":memory:", CODEC).apply_batch(rows[1:])


def test_the_collector_is_paused_only_while_a_copy_is_rebuilt() -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        (gc.enable if was else gc.disable)()
