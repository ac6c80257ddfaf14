"""The one catalog of topics.

Every topic the hub uses is described here once — name, partitions, retention or compaction,
key and value schemas, and which principals produce and consume it.  Topic creation
(:mod:`hub.topic_admin`), ACLs (:func:`acl_grants`) and the docs (``interop-hub topics list``) are
all generated from this catalog.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from topics.agencies import DEFAULT_AGENCIES, Agency, AgencyKind
from topics.errors import CatalogError

HUB = "hub"
COURT_GATEWAY = "court-gateway"
ADMIN = "admin"

DAY_MS = 24 * 3600 * 1000
#: Default partitions of every topic the hub's stateful agents read (the setting ``HUB_PARTITIONS``).
#: They are all keyed by case number and have the same count, so faust co-partitions them: a case's
#: requests, its replies and its table rows live in one partition number on one worker.  Agencies reply
#: with the request's key.  The count bounds how many workers share the work (one partition is never
#: split): 12 lets 1, 2, 3, 4, 6 or 12 workers share it evenly; Kafka can grow it but never shrink it.
HUB_PARTITIONS = 12
#: Production durability: every record on three brokers, a write acknowledged once two hold it.
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
INFINITE = -1
#: topic config: the broker stamps each record with when it was appended (court.requests and the agencies'
#: outboxes: heartbeats and the hub's input wait are timed by it, never by a sender's clock)
#: an agency's sweep lane is one partition: no reader needs it co-partitioned (its replies come back on the outbox,
#: keyed by case), its rate is the agency's sweep ceiling (a few requests a second), and every partition is a log
#: with its own index files the broker appends to.  At 12 partitions the 26 banks' lanes were a quarter of all the
#: partitions one broker held, each written a few times a minute (bench ``--only sweep``, 2026-11-26).
SWEEP_LANE_PARTITIONS = 1
BROKER_TIMESTAMPS = (("message.timestamp.type", "LogAppendTime"),)


class Cleanup(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


class Role(StrEnum):
    """What a topic is for; the code finds topics by role, never by spelling names."""

    COURT_REQUESTS = "court_requests"
    COURT_REPLIES = "court_replies"
    COURT_NOTICES = "court_notices"
    AGENCY_INBOX = "agency_inbox"
    AGENCY_OUTBOX = "agency_outbox"
    AGENCY_SWEEPS = "agency_sweeps"  # the sweep lane: hub → agency batch queries, read after the live inbox
    LIST_HISTORY = "list_history"
    LIST_CURRENT = "list_current"
    ANOMALIES = "anomalies"
    DEAD_LETTER = "dead_letter"
    AUDIT = "audit"
    AUDIT_HEADS = "audit_heads"
    TICKS = "ticks"
    PUBLISHED_KEYS = "published_keys"
    PUBLISHED_COURTS = "published_courts"
    TABLE_CHANGELOG = "table_changelog"


# Value schemas are named by message family: a namespace (every message schema in it) or a
# single full name.  A catalog test checks each family names at least one existing schema.
BANK = "cn.court.interop.bank"
POLICE = "cn.court.interop.police"
CREDIT = "cn.court.interop.credit"
OPS = "cn.court.interop.ops"
SWEEP = "cn.court.interop.sweep"  # terminated-case sweeps, clue checks, standing watches (seed 001 §(二))
RAW = "raw"  # the bytes as they arrived (dead letters keep them inside an Avro record)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    role: Role
    partitions: int
    cleanup: Cleanup
    retention_ms: int
    key: str  # what the (UTF-8 string) key of each record is
    values: tuple[str, ...]  # message families of the values
    producers: frozenset[str]
    consumers: frozenset[str]
    description: str
    agency: str | None = None
    extra_configs: tuple[tuple[str, str], ...] = ()
    replication_factor: int = REPLICATION_FACTOR
    min_insync_replicas: int = MIN_INSYNC_REPLICAS
    #: read partition by partition alongside the hub's other topics (keyed by case number onto the hub partition
    #: that holds the case's rows), so its count must be exactly the hub's; False for a topic whose readers do not
    #: care (a sweep lane), which may keep more partitions than the catalog creates it with
    co_partitioned: bool = True

    def configs(self) -> dict[str, str]:
        """The topic-level Kafka configs the catalog manages for this topic."""
        cfg = {"cleanup.policy": self.cleanup.value, "retention.ms": str(self.retention_ms),
               "min.insync.replicas": str(self.min_insync_replicas)}
        cfg.update(self.extra_configs)
        return cfg


@dataclass(frozen=True)
class Catalog:
    agencies: tuple[Agency, ...]
    topics: tuple[TopicSpec, ...]
    _by_name: dict[str, TopicSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, TopicSpec] = {}
        for spec in self.topics:
            if spec.name in by_name:
                raise CatalogError(f"topic {spec.name!r} defined twice", field="topics")
            by_name[spec.name] = spec
        object.__setattr__(self, "_by_name", by_name)

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(self.topics)

    def __len__(self) -> int:
        return len(self.topics)

    def get(self, name: str) -> TopicSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise CatalogError(f"no topic {name!r} in the catalog", field="topic") from None

    def by_role(self, role: Role) -> tuple[TopicSpec, ...]:
        return tuple(t for t in self.topics if t.role is role)

    def one(self, role: Role) -> TopicSpec:
        found = self.by_role(role)
        if len(found) != 1:
            raise CatalogError(f"expected one {role} topic, found {len(found)}", field="topics")
        return found[0]

    @property
    def hub_partitions(self) -> int:
        """Partitions of every co-partitioned hub topic (they all have the same count)."""
        return self.one(Role.TICKS).partitions

    def agency(self, code: str) -> Agency:
        for a in self.agencies:
            if a.code == code:
                return a
        raise CatalogError(f"unknown agency {code!r}", field="agency")

    def inbox(self, code: str) -> TopicSpec:
        return self.get(inbox_name(code))

    def outbox(self, code: str) -> TopicSpec:
        return self.get(outbox_name(code))

    def sweeps(self, code: str) -> TopicSpec:
        return self.get(sweeps_name(code))

    def principals(self) -> frozenset[str]:
        names: set[str] = {ADMIN}
        for spec in self.topics:
            names |= spec.producers | spec.consumers
        return frozenset(names)


#: The hub's changelog-backed faust tables: name, key, what a row is.  Their changelog topics are
#: catalog topics (created by ``topics apply`` before any worker starts, never by faust at start-up).
HUB_TABLES: tuple[tuple[str, str, str], ...] = (
    ("requests", "request_id", "every request's lifecycle record"),
    ("intensive", "request_id", "intensive-query merged state"),
    ("intensive_by_case", "case_number", "intensive queries of a case"),
    ("deadline_index", "partition:minute", "requests whose warning or due time falls in a minute"),
    ("measures", "measure_id", "police measures: active / released / lapsed, with court, case and request"),
    ("measure_requests", "request_id", "police measure requests awaiting the measure id"),
    ("anomaly_book", "health/<agency>, anomaly/<id>, dead/<principal>, seq",
     "the anomaly book (agencies' health, every anomaly and its notices), all in partition 0, kept by its owner"),
    ("terminated_cases", "case_number",
     "terminated cases under sweeps (终本统查): schedule, sweeps, empty-sweep count, open clues, watches"),
    ("sweep_schedule", "partition:day:chunk, partition:cursor, partition:active, partition:watched",
     "terminated cases due for a sweep by day, the cases being swept and those with watches, per partition"),
)


def table_changelog_name(table: str) -> str:
    return f"hub.table.{table}"


def inbox_name(code: str) -> str:
    return f"agency.{code}.inbox"


def outbox_name(code: str) -> str:
    return f"agency.{code}.outbox"


def sweeps_name(code: str) -> str:
    """The sweep lane of a financial agency: batch queries of terminated-case sweeps, read after its inbox."""
    return f"agency.{code}.sweeps"


def _families(kind: AgencyKind) -> tuple[str, ...]:
    if kind is AgencyKind.POLICE:
        return (POLICE, SWEEP, OPS)
    if kind is AgencyKind.CREDIT:
        return (CREDIT, OPS)
    return (BANK, SWEEP, OPS)


def _agency_topics(agency: Agency, partitions: int) -> Iterator[TopicSpec]:
    families = _families(agency.kind)
    yield TopicSpec(
        name=inbox_name(agency.code),
        role=Role.AGENCY_INBOX,
        partitions=partitions,
        cleanup=Cleanup.DELETE,
        retention_ms=14 * DAY_MS,
        key="case_number",
        values=families,
        producers=frozenset({HUB}),
        consumers=frozenset({agency.principal}),
        description=f"requests and notices addressed to {agency.name_zh} ({agency.name_en}) only",
        agency=agency.code,
    )
    yield TopicSpec(
        name=outbox_name(agency.code),
        role=Role.AGENCY_OUTBOX,
        partitions=partitions,
        cleanup=Cleanup.DELETE,
        retention_ms=14 * DAY_MS,
        key="case_number",
        values=families,
        producers=frozenset({agency.principal}),
        consumers=frozenset({HUB}),
        description=f"replies, receipts, sightings and heartbeats from {agency.name_zh} ({agency.name_en})",
        agency=agency.code,
        # the broker stamps when a record arrived (an agency's clock cannot claim it was alive)
        extra_configs=BROKER_TIMESTAMPS,
    )
    if agency.is_financial:
        yield TopicSpec(
            name=sweeps_name(agency.code),
            role=Role.AGENCY_SWEEPS,
            partitions=SWEEP_LANE_PARTITIONS,
            co_partitioned=False,
            cleanup=Cleanup.DELETE,
            retention_ms=14 * DAY_MS,
            key="case_number",
            values=(BANK,),
            producers=frozenset({HUB}),
            consumers=frozenset({agency.principal}),
            description=f"sweep queries of terminated cases (终本统查) for {agency.name_zh} ({agency.name_en}): "
                        "read after its inbox, at most its sweep ceiling a second",
            agency=agency.code,
        )


def build_catalog(agencies: Iterable[Agency] = DEFAULT_AGENCIES, *, partitions: int = HUB_PARTITIONS,
                  replication_factor: int = REPLICATION_FACTOR,
                  min_insync_replicas: int = MIN_INSYNC_REPLICAS) -> Catalog:
    """The catalog for a set of agencies (the default set unless given), ``partitions`` per hub topic, every
    topic on ``replication_factor`` brokers and a write acknowledged once ``min_insync_replicas`` hold it."""
    if partitions < 1:
        raise CatalogError(f"hub topics need at least one partition, not {partitions}", field="partitions")
    if not 1 <= min_insync_replicas <= replication_factor:
        raise CatalogError(f"min.insync.replicas {min_insync_replicas} must be between 1 and the replication "
                           f"factor {replication_factor}", field="min_insync_replicas")
    agencies = tuple(agencies)
    codes = [a.code for a in agencies]
    if len(set(codes)) != len(codes):
        raise CatalogError("agency codes must be unique", field="agencies")
    list_readers = frozenset(
        a.principal for a in agencies if a.kind in (AgencyKind.CREDIT, AgencyKind.JOINT_UNIT)
    )
    court = frozenset({COURT_GATEWAY})
    hub_only = frozenset({HUB})
    everyone = frozenset({HUB, ADMIN, COURT_GATEWAY, *(a.principal for a in agencies)})
    topics: list[TopicSpec] = [
        TopicSpec(
            "court.requests", Role.COURT_REQUESTS, partitions, Cleanup.DELETE, 30 * DAY_MS, "case_number",
            (BANK, POLICE, CREDIT, SWEEP, OPS), court, hub_only,
            "every request and list decision sent by the courts (总对总 gateway)",
            # the broker stamps when a request arrived: the hub's input wait is measured from it
            extra_configs=BROKER_TIMESTAMPS,
        ),
        TopicSpec(
            "court.replies", Role.COURT_REPLIES, partitions, Cleanup.DELETE, 30 * DAY_MS, "case_number",
            (BANK, POLICE, CREDIT, OPS), hub_only, court,
            "what answers a court's request: replies, sealed receipts, error replies, merged results, "
            "'no answer in time' outcomes",
        ),
        TopicSpec(
            "court.notices", Role.COURT_NOTICES, partitions, Cleanup.DELETE, 90 * DAY_MS, "case_number",
            (POLICE, BANK, SWEEP, OPS), hub_only, court,
            "unsolicited notices: sightings, lapses, escalations, deadline and anomaly notices, watch hits, "
            "sweep grounds (失信规定 art. 10(四))",
        ),
        TopicSpec(
            "credit.list.history", Role.LIST_HISTORY, 1, Cleanup.DELETE, INFINITE, "listing_id",
            (CREDIT,), hub_only, list_readers | frozenset({HUB}),
            "every publication of the dishonest-debtor list, in publication-id order (never deleted)",
            extra_configs=(("retention.bytes", "-1"),),
        ),
        TopicSpec(
            "credit.list.current", Role.LIST_CURRENT, 1, Cleanup.COMPACT, INFINITE, "listing_id",
            (CREDIT,), hub_only, list_readers | frozenset({HUB}),
            "the current dishonest-debtor list, one record per listing (tombstone on deletion)",
            extra_configs=(("min.cleanable.dirty.ratio", "0.1"),),
        ),
        TopicSpec(
            "ops.anomalies", Role.ANOMALIES, 1, Cleanup.DELETE, 365 * DAY_MS, "anomaly_id",
            (OPS,), hub_only, hub_only | frozenset({ADMIN}),
            "anomaly records and the state of each notice (002 §4(五))",
        ),
        TopicSpec(
            "ops.deadletter", Role.DEAD_LETTER, 1, Cleanup.DELETE, 365 * DAY_MS, "source",
            (OPS, RAW), hub_only, hub_only | frozenset({ADMIN}),
            "every rejected or undecodable message with its original bytes and reason",
        ),
        TopicSpec(
            "ops.audit", Role.AUDIT, partitions, Cleanup.DELETE, INFINITE, "chain",
            (OPS,), hub_only, hub_only | frozenset({ADMIN}),
            "audit log of every message accepted, rejected or emitted (002 §5(二)): one Merkle-tree chain per "
            "hub partition, in batches, on the partition of the same number",
            extra_configs=(("retention.bytes", "-1"),),
        ),
        TopicSpec(
            "ops.audit.heads", Role.AUDIT_HEADS, 1, Cleanup.DELETE, INFINITE, "chain",
            (OPS,), hub_only, everyone,
            "signed tree heads of the audit log, readable by every party (they prove inclusion and that the "
            "log was never rewritten)",
            extra_configs=(("retention.bytes", "-1"),),
        ),
        TopicSpec(
            "registry.keys", Role.PUBLISHED_KEYS, 1, Cleanup.COMPACT, INFINITE, "agency/key_id",
            (OPS,), hub_only, everyone,
            "the parties' public sealing keys (key id, validity, active or retired), signed by the hub: a party "
            "verifies any seal from what it reads here (retired keys stay, so old receipts keep verifying)",
            extra_configs=(("min.cleanable.dirty.ratio", "0.1"),),
        ),
        TopicSpec(
            "registry.courts", Role.PUBLISHED_COURTS, 1, Cleanup.COMPACT, INFINITE, "court_code",
            (OPS,), hub_only, everyone,
            "the court registry with each court's registered execution accounts (一案一账号), signed by the hub "
            "(tombstone when a court leaves the registry)",
            extra_configs=(("min.cleanable.dirty.ratio", "0.1"),),
        ),
        TopicSpec(
            "hub.ticks", Role.TICKS, partitions, Cleanup.DELETE, DAY_MS, "partition",
            (OPS,), hub_only, hub_only,
            "hub-internal clock ticks, one per partition, so deadline checks run inside stream processing",
        ),
    ]
    topics.extend(
        TopicSpec(
            table_changelog_name(table), Role.TABLE_CHANGELOG, partitions, Cleanup.COMPACT, INFINITE, key,
            (RAW,), hub_only, hub_only, f"changelog of the hub's {table!r} table ({what}); restored on restart",
        )
        for table, key, what in HUB_TABLES
    )
    for agency in agencies:
        if agency.has_mailbox:
            topics.extend(_agency_topics(agency, partitions))
    durable = (dataclasses.replace(t, replication_factor=replication_factor, min_insync_replicas=min_insync_replicas)
               for t in topics)
    return Catalog(agencies=agencies, topics=tuple(durable))


# --- consumer groups -------------------------------------------------------------------------
# Every consumer group is a literal name made here, from the app id and the catalog: the ACLs grant
# exactly these names (never a prefix: agency codes are prefixes of each other, cmb/cmbc, boc/bocom)
# and the clients (faust, the simulators, the credit sequencer) use the same functions.


def agency_group_id(app_id: str, code: str) -> str:
    """The consumer group of agency ``code``'s client (its simulator, or the agency's real client)."""
    return f"{app_id}-sim-{code}"


def credit_sequencer_group_id(app_id: str) -> str:
    """The hub's credit-list sequencer group (single reader of the list journal)."""
    return f"{app_id}-credit-sequencer"


def court_gateway_group_id(app_id: str) -> str:
    """The court gateway's consumer group."""
    return f"{app_id}-court"


def consumer_groups(catalog: Catalog, app_id: str) -> dict[str, tuple[str, ...]]:
    """principal -> the literal consumer-group names it may use.

    The hub's are faust's (the group id of a faust app is its app id) and the credit sequencer's.
    """
    groups: dict[str, tuple[str, ...]] = {
        HUB: (app_id, credit_sequencer_group_id(app_id)),
        COURT_GATEWAY: (court_gateway_group_id(app_id),),
    }
    for agency in catalog.agencies:
        groups[agency.principal] = (agency_group_id(app_id, agency.code),)
    return groups


@dataclass(frozen=True, slots=True)
class AclGrant:
    """One allow rule derived from the catalog (the security issue applies them)."""

    principal: str
    operation: str  # READ / WRITE / DESCRIBE
    topic: str


def acl_grants(catalog: Catalog, prefix: str = "") -> list[AclGrant]:
    """Allow rules for every principal; anything not listed here is denied."""
    grants: list[AclGrant] = []
    for spec in catalog:
        name = prefix + spec.name
        for p in sorted(spec.producers):
            grants += [AclGrant(p, "WRITE", name), AclGrant(p, "DESCRIBE", name)]
        for p in sorted(spec.consumers):
            grants += [AclGrant(p, "READ", name), AclGrant(p, "DESCRIBE", name)]
    return grants


DEFAULT_CATALOG = build_catalog()
