"""Prometheus metrics of the hub, built by a factory over a given registry.

Each test builds its own :class:`~prometheus_client.CollectorRegistry`; the worker uses one per
process.  Names follow Prometheus conventions: ``_total`` counters, ``_seconds`` / ``_bytes``
base units.  Labels never carry personal data (no resident IDs, accounts or phone numbers):
only agency codes, message types, topic roles and error codes, all bounded sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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


def build_metrics(registry: CollectorRegistry | None = None) -> HubMetrics:
    registry = registry if registry is not None else CollectorRegistry()
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
    )
