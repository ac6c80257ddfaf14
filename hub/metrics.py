"""Prometheus metrics of the hub, built by a factory over a given registry.

Each test builds its own :class:`~prometheus_client.CollectorRegistry`; the worker uses one per
process.  Names follow Prometheus conventions: ``_total`` counters, ``_seconds`` / ``_bytes``
base units.  Labels never carry personal data (no resident IDs, accounts or phone numbers):
only agency codes, message types, topic roles and error codes, all bounded sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

NAMESPACE = "interop_hub"


@dataclass(frozen=True)
class HubMetrics:
    registry: CollectorRegistry
    messages_received_total: Counter
    messages_sent_total: Counter
    dead_letters_total: Counter
    error_replies_total: Counter
    decode_seconds: Histogram
    worker_starts_total: Counter
    up: Gauge
    clock_time_seconds: Gauge
    requests_accepted_total: Counter
    requests_completed_total: Counter
    round_trip_seconds: Histogram
    outstanding_requests: Gauge
    overdue_requests: Gauge
    deadline_events_total: Counter
    anomalies_open: Gauge
    anomalies_total: Counter
    notices_sent_total: Counter
    notices_acknowledged_total: Counter
    notices_overdue_total: Counter
    audit_records_total: Counter
    audit_batches_total: Counter
    audit_tree_heads_total: Counter
    consumer_lag_messages: Gauge
    input_wait_seconds: Histogram
    sweep_pace_ratio: Gauge
    list_size: Gauge
    list_publications_total: Counter
    list_last_publication_id: Gauge
    replay_events_total: Counter
    calendar_official_until: Gauge
    provisional_deadlines_total: Counter


def build_metrics(registry: CollectorRegistry | None = None) -> HubMetrics:
    registry = registry if registry is not None else CollectorRegistry()
    ProcessCollector(registry=registry)  # process_start_time_seconds, resident memory, CPU
    return HubMetrics(
        registry=registry,
        messages_received_total=Counter(
            "messages_received_total", "Messages consumed by the hub, by topic role and message type",
            ["role", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        messages_sent_total=Counter(
            "messages_sent_total", "Messages produced by the hub, by topic role and message type",
            ["role", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        dead_letters_total=Counter(
            "dead_letters_total", "Messages sent to the dead-letter topic, by source role and reason code",
            ["role", "reason"], namespace=NAMESPACE, registry=registry,
        ),
        error_replies_total=Counter(
            "error_replies_total", "Error replies sent to the sender of a rejected message, by reason code",
            ["reason"], namespace=NAMESPACE, registry=registry,
        ),
        decode_seconds=Histogram(
            "decode_seconds", "Time to decode one Avro single-object-encoded message",
            namespace=NAMESPACE, registry=registry,
            buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.01),
        ),
        worker_starts_total=Counter(
            "worker_starts_total", "Times this hub worker process started", namespace=NAMESPACE, registry=registry,
        ),
        up=Gauge("up", "1 while the hub worker is running", namespace=NAMESPACE, registry=registry),
        clock_time_seconds=Gauge(
            "clock_time_seconds", "The hub's injected clock (Unix seconds)", namespace=NAMESPACE,
            registry=registry,
        ),
        requests_accepted_total=Counter(
            "requests_accepted_total", "Requests accepted and routed to an agency, by agency and type",
            ["agency", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        requests_completed_total=Counter(
            "requests_completed_total", "Requests reaching a terminal state, by agency, type and outcome",
            ["agency", "message_type", "outcome"], namespace=NAMESPACE, registry=registry,
        ),
        round_trip_seconds=Histogram(
            "round_trip_seconds", "From acceptance at the hub to the answer, by request type (hub clock)",
            ["message_type"], namespace=NAMESPACE, registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400, 259200),
        ),
        outstanding_requests=Gauge(
            "outstanding_requests", "Requests not yet in a terminal state, by agency and type",
            ["agency", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        overdue_requests=Gauge(
            "overdue_requests", "Requests past their legal deadline without an answer, by agency and type",
            ["agency", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        deadline_events_total=Counter(
            "deadline_events_total", "Deadline warnings, expiries and late answers, by kind and request type",
            ["kind", "message_type"], namespace=NAMESPACE, registry=registry,
        ),
        anomalies_open=Gauge(
            "anomalies_open", "Open anomalies, by kind", ["kind"], namespace=NAMESPACE, registry=registry,
        ),
        anomalies_total=Counter(
            "anomalies_total", "Anomalies detected, by kind", ["kind"], namespace=NAMESPACE, registry=registry,
        ),
        notices_sent_total=Counter(
            "notices_sent_total", "Anomaly and resolution notices delivered, by recipient kind and state",
            ["recipient", "state"], namespace=NAMESPACE, registry=registry,
        ),
        notices_acknowledged_total=Counter(
            "notices_acknowledged_total", "Anomaly notices acknowledged by their recipient",
            namespace=NAMESPACE, registry=registry,
        ),
        notices_overdue_total=Counter(
            "notices_overdue_total", "Anomaly notices not delivered within 24 hours of detection (002 §4(五))",
            namespace=NAMESPACE, registry=registry,
        ),
        audit_records_total=Counter(
            "audit_records_total", "Audit log entries written, by action", ["action"], namespace=NAMESPACE,
            registry=registry,
        ),
        audit_batches_total=Counter(
            "audit_batches_total", "Audit log batches (Kafka records) written", namespace=NAMESPACE,
            registry=registry,
        ),
        audit_tree_heads_total=Counter(
            "audit_tree_heads_total", "Signed tree heads of the audit log published", namespace=NAMESPACE,
            registry=registry,
        ),
        consumer_lag_messages=Gauge(
            "consumer_lag_messages", "Messages not yet consumed by the hub, by topic role", ["role"],
            namespace=NAMESPACE, registry=registry,
        ),
        input_wait_seconds=Histogram(
            "input_wait_seconds", "From the broker's append of an input record to the hub starting to handle it "
            "(the hub's share of a round trip's latency), by topic role and traffic (live, or paced: a sweep's "
            "replies)", ["role", "traffic"], namespace=NAMESPACE,
            registry=registry,
            buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 2.5, 5, 10, 60,
                     600),
        ),
        sweep_pace_ratio=Gauge(
            "sweep_pace_ratio", "The share of the agencies' sweep ceilings this worker uses now (live work first)",
            namespace=NAMESPACE, registry=registry,
        ),
        list_size=Gauge(
            "list_size", "Entries on the current dishonest-debtor list", namespace=NAMESPACE, registry=registry,
        ),
        list_publications_total=Counter(
            "credit_list_publications_total", "List publications, by action", ["action"], namespace=NAMESPACE,
            registry=registry,
        ),
        list_last_publication_id=Gauge(
            "credit_list_last_publication_id", "Last publication id", namespace=NAMESPACE, registry=registry,
        ),
        replay_events_total=Counter(
            "replay_events_total", "List events replayed by consumers rebuilding their copy",
            namespace=NAMESPACE, registry=registry,
        ),
        calendar_official_until=Gauge(
            "calendar_official_until_timestamp_seconds",
            "End (24:00 China time) of the last day the working-day calendar knows officially; later days are "
            "provisional", namespace=NAMESPACE, registry=registry,
        ),
        provisional_deadlines_total=Counter(
            "provisional_deadlines_total",
            "Deadlines computed over days the official calendar does not cover yet, by message type",
            ["message_type"], namespace=NAMESPACE, registry=registry,
        ),
    )


def sample_sum(exposition: str, prefix: str) -> float:
    """The sum of the samples whose line starts with ``prefix`` (a name, or a name with its first labels) in
    Prometheus text exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(prefix))
