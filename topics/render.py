"""Human- and machine-readable views of the catalog (``interop-hub topics list [--live]``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from topics.catalog import INFINITE, Catalog


@dataclass(frozen=True, slots=True)
class LivePartition:
    """One partition as the cluster describes it: its leader (-1: none), replicas and in-sync replicas."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


#: a topic's partitions as described by the cluster (physical topic name -> partitions)
LiveTopics = Mapping[str, tuple[LivePartition, ...]]


def _retention(ms: int) -> str:
    if ms == INFINITE:
        return "infinite"
    days = ms / 86_400_000
    return f"{days:g}d"


def _live_columns(parts: tuple[LivePartition, ...] | None) -> tuple[str, str, str]:
    """(replicas, isr, leaders) of a topic: the fewest replicas and in-sync replicas of any partition (with
    the count of under-replicated partitions), and how many partitions each broker leads."""
    if not parts:
        return "missing", "-", "-"
    replicas = min(len(p.replicas) for p in parts)
    isr = min(len(p.isr) for p in parts)
    under = sum(len(p.isr) < len(p.replicas) for p in parts)
    leaders = Counter(p.leader for p in parts)
    led = ",".join(f"{b}:{n}" if b >= 0 else f"none:{n}" for b, n in sorted(leaders.items()))
    return str(replicas), f"{isr}" + (f" ({under} under)" if under else ""), led


def catalog_table(catalog: Catalog, prefix: str = "", live: LiveTopics | None = None) -> str:
    """The catalog as a table; with ``live`` each topic's replication on the cluster instead of its retention,
    key and principals: the fewest replicas and in-sync replicas of its partitions, and who leads them."""
    header: tuple[str, ...] = ("topic", "parts", "rf", "min.isr")
    header += ("replicas", "isr", "leaders") if live is not None else ("cleanup", "retention", "key", "producers",
                                                                        "consumers")
    rows = [header]
    for t in catalog:
        row: tuple[str, ...] = (prefix + t.name, str(t.partitions), str(t.replication_factor),
                                str(t.min_insync_replicas))
        if live is not None:  # the live view is about replication: who holds what, who leads
            row += _live_columns(live.get(prefix + t.name))
        else:
            row += (t.cleanup.value, _retention(t.retention_ms), t.key,
                    ",".join(sorted(t.producers)), ",".join(sorted(t.consumers)))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{len(catalog)} topics, {len(catalog.agencies)} agencies, {len(catalog.principals())} principals")
    if live is not None:
        under = sum(len(p.isr) < len(p.replicas) for parts in live.values() for p in parts)
        missing = sum(prefix + t.name not in live for t in catalog)
        lines.append(f"live: {missing} missing, {under} under-replicated partitions")
    return "\n".join(lines)


def catalog_json(catalog: Catalog, prefix: str = "", live: LiveTopics | None = None) -> str:
    """The catalog as JSON; with ``live`` each topic also carries its partitions as the cluster describes them."""
    out: list[dict[str, Any]] = []
    for t in catalog:
        item: dict[str, Any] = {
            "name": prefix + t.name, "role": t.role.value, "partitions": t.partitions,
            "replication_factor": t.replication_factor, "min_insync_replicas": t.min_insync_replicas,
            "configs": t.configs(), "key": t.key, "values": list(t.values),
            "producers": sorted(t.producers), "consumers": sorted(t.consumers),
            "agency": t.agency, "description": t.description,
        }
        if live is not None:
            parts = live.get(prefix + t.name)
            item["live"] = None if parts is None else [
                {"partition": p.partition, "leader": p.leader, "replicas": list(p.replicas), "isr": list(p.isr)}
                for p in parts
            ]
        out.append(item)
    return json.dumps(out, ensure_ascii=False, indent=2)
