"""Human- and machine-readable views of the catalog (``interop-hub topics list``)."""

from __future__ import annotations

import json

from topics.catalog import INFINITE, Catalog


def _retention(ms: int) -> str:
    if ms == INFINITE:
        return "infinite"
    days = ms / 86_400_000
    return f"{days:g}d"


def catalog_table(catalog: Catalog, prefix: str = "") -> str:
    header = ("topic", "parts", "cleanup", "retention", "key", "producers", "consumers")
    rows = [header]
    for t in catalog:
        rows.append((
            prefix + t.name, str(t.partitions), t.cleanup.value, _retention(t.retention_ms), t.key,
            ",".join(sorted(t.producers)), ",".join(sorted(t.consumers)),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{len(catalog)} topics, {len(catalog.agencies)} agencies, {len(catalog.principals())} principals")
    return "\n".join(lines)


def catalog_json(catalog: Catalog, prefix: str = "") -> str:
    return json.dumps(
        [
            {
                "name": prefix + t.name, "role": t.role.value, "partitions": t.partitions,
                "configs": t.configs(), "key": t.key, "values": list(t.values),
                "producers": sorted(t.producers), "consumers": sorted(t.consumers),
                "agency": t.agency, "description": t.description,
            }
            for t in catalog
        ],
        ensure_ascii=False,
        indent=2,
    )
