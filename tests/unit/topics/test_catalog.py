"""The topic catalog: every topic of SPEC §1-§7, agencies as data, isolation by construction."""

from __future__ import annotations

import json

import pytest

from hub.codec import SchemaRegistry
from hub.errors import CatalogError
from topics.agencies import DEFAULT_AGENCIES, LOCAL_BANKS, NATIONAL_BANKS, PAYMENT_FIRMS, Agency, AgencyKind
from topics.catalog import (
    COURT_GATEWAY,
    DEFAULT_CATALOG,
    HUB,
    INFINITE,
    RAW,
    SWEEP_LANE_PARTITIONS,
    Cleanup,
    Role,
    acl_grants,
    build_catalog,
)
from topics.render import catalog_json, catalog_table


def test_default_catalog_holds_the_seed_001_units() -> None:
    """Seed 001 §(一)1: 21 national banks, 3 internet payment firms, local banks."""
    assert len(NATIONAL_BANKS) == 21
    assert {a.code for a in PAYMENT_FIRMS} == {"tenpay", "jdpay", "alipay"}
    assert len(LOCAL_BANKS) >= 2 and all(a.region for a in LOCAL_BANKS)


def test_every_agency_with_a_mailbox_has_its_own_inbox_and_outbox() -> None:
    for agency in DEFAULT_AGENCIES:
        if not agency.has_mailbox:
            continue
        inbox, outbox = DEFAULT_CATALOG.inbox(agency.code), DEFAULT_CATALOG.outbox(agency.code)
        assert inbox.consumers == {agency.principal} and inbox.producers == {HUB}
        assert outbox.producers == {agency.principal} and outbox.consumers == {HUB}


def test_no_agency_reads_or_writes_another_agencys_topics() -> None:
    """002 §5(二), memo §4: technical isolation between parties."""
    for spec in DEFAULT_CATALOG:
        principals = spec.producers | spec.consumers
        agency_principals = {a.principal for a in DEFAULT_AGENCIES} & principals
        if spec.role in (Role.AGENCY_INBOX, Role.AGENCY_OUTBOX, Role.AGENCY_SWEEPS):
            assert agency_principals == {DEFAULT_CATALOG.agency(spec.agency or "").principal}
        elif spec.role in (Role.LIST_HISTORY, Role.LIST_CURRENT):
            kinds = {a.kind for a in DEFAULT_AGENCIES if a.principal in agency_principals}
            assert kinds <= {AgencyKind.CREDIT, AgencyKind.JOINT_UNIT}
            assert HUB in spec.producers and len(spec.producers) == 1
        elif spec.role in (Role.AUDIT_HEADS, Role.PUBLISHED_KEYS, Role.PUBLISHED_COURTS):
            # signed hashes and sizes, public keys, courts and their accounts: read by every party, written by the hub
            assert spec.producers == {HUB} and agency_principals == {a.principal for a in DEFAULT_AGENCIES}
        else:
            assert not agency_principals, f"{spec.name} is shared with agencies {agency_principals}"


def test_courts_write_requests_and_read_replies_only() -> None:
    courts = [s for s in DEFAULT_CATALOG if COURT_GATEWAY in s.producers | s.consumers]
    assert {(s.role, COURT_GATEWAY in s.producers) for s in courts} == {
        (Role.COURT_REQUESTS, True), (Role.COURT_REPLIES, False), (Role.COURT_NOTICES, False),
        (Role.AUDIT_HEADS, False),  # the audit log's signed tree heads: every party may keep them
        (Role.PUBLISHED_KEYS, False), (Role.PUBLISHED_COURTS, False),  # the registry the hub publishes, signed
    }


def test_list_history_and_audit_keep_everything_and_current_list_is_compacted() -> None:
    history = DEFAULT_CATALOG.one(Role.LIST_HISTORY)
    assert history.retention_ms == INFINITE and history.configs()["retention.bytes"] == "-1"
    assert DEFAULT_CATALOG.one(Role.AUDIT).retention_ms == INFINITE
    assert DEFAULT_CATALOG.one(Role.LIST_CURRENT).cleanup is Cleanup.COMPACT


def test_adding_a_bank_is_one_entry() -> None:
    extra = Agency("hzbank", "杭州银行", "Bank of Hangzhou", AgencyKind.LOCAL_BANK, region="330100")
    catalog = build_catalog((*DEFAULT_AGENCIES, extra))
    assert len(catalog) == len(DEFAULT_CATALOG) + 3  # inbox, outbox, sweep lane
    assert catalog.inbox("hzbank").consumers == {"local-bank-hzbank"}


def test_duplicate_agency_codes_are_refused() -> None:
    with pytest.raises(CatalogError, match="unique"):
        build_catalog((*DEFAULT_AGENCIES, DEFAULT_AGENCIES[0]))


def test_every_value_family_names_existing_schemas() -> None:
    names = SchemaRegistry.from_dir().names()
    for spec in DEFAULT_CATALOG:
        for family in spec.values:
            if family == RAW:
                continue
            assert any(n.startswith(family + ".") or n == family for n in names), (spec.name, family)


def test_acl_grants_cover_exactly_the_catalog_roles() -> None:
    grants = acl_grants(DEFAULT_CATALOG, prefix="p.")
    icbc = {(g.operation, g.topic) for g in grants if g.principal == "bank-icbc"}
    assert icbc == {
        ("READ", "p.agency.icbc.inbox"), ("DESCRIBE", "p.agency.icbc.inbox"),
        ("WRITE", "p.agency.icbc.outbox"), ("DESCRIBE", "p.agency.icbc.outbox"),
        ("READ", "p.agency.icbc.sweeps"), ("DESCRIBE", "p.agency.icbc.sweeps"),  # its sweep lane (终本统查)
        ("READ", "p.ops.audit.heads"), ("DESCRIBE", "p.ops.audit.heads"),  # the signed tree heads, read-only
        ("READ", "p.registry.keys"), ("DESCRIBE", "p.registry.keys"),  # the published registry, read-only
        ("READ", "p.registry.courts"), ("DESCRIBE", "p.registry.courts"),
    }


def test_catalog_renders_as_table_and_json() -> None:
    table = catalog_table(DEFAULT_CATALOG)
    assert "agency.icbc.inbox" in table and f"{len(DEFAULT_CATALOG)} topics" in table
    parsed = json.loads(catalog_json(DEFAULT_CATALOG, "x."))
    assert len(parsed) == len(DEFAULT_CATALOG) and parsed[0]["name"].startswith("x.")


def test_the_hubs_input_topics_are_stamped_by_the_broker() -> None:
    """Court requests and agency outboxes carry the broker's append time: heartbeats are judged by it (a clock of the
    agency cannot claim it was alive), and the hub's input wait — which steers the sweeps — is measured from it."""
    inputs = [*DEFAULT_CATALOG.by_role(Role.COURT_REQUESTS), *DEFAULT_CATALOG.by_role(Role.AGENCY_OUTBOX)]
    assert len(inputs) > 1
    for spec in inputs:
        assert ("message.timestamp.type", "LogAppendTime") in spec.extra_configs, spec.name


def test_a_sweep_lane_is_one_partition_and_only_the_co_partitioned_topics_have_the_hubs() -> None:
    """A lane is read by its agency alone (replies come back on the co-partitioned outbox), at its sweep ceiling."""
    lanes = DEFAULT_CATALOG.by_role(Role.AGENCY_SWEEPS)
    assert lanes and {s.partitions for s in lanes} == {SWEEP_LANE_PARTITIONS} == {1}
    assert {s.partitions for s in DEFAULT_CATALOG.by_role(Role.AGENCY_OUTBOX)} == {DEFAULT_CATALOG.hub_partitions}
