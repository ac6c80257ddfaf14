"""One frozen settings model for every process of the hub (env prefix ``HUB_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from topics.catalog import HUB_PARTITIONS, MIN_INSYNC_REPLICAS, REPLICATION_FACTOR, Catalog, build_catalog

ENV_PREFIX = "HUB_"


class HubSettings(BaseSettings):
    """Everything a hub process is configured with.

    Every field maps to an environment variable ``HUB_<FIELD>`` (upper case); the
    docker-compose file and the README use exactly these names.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # --- broker ------------------------------------------------------------------
    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap addresses host:port,…; "
                                   "`broker start` runs one local node per entry (three: a replicated cluster)")
    controller_port: int = Field(9093, description="KRaft controller port of the local broker (one node)")
    controller_ports: str = Field("", description="KRaft controller port of each node of a local cluster, "
                                  "comma-separated in bootstrap order (default: each node's client port + 1)")
    broker_listen_host: str = Field("127.0.0.1", description="address the local broker nodes bind to; 0.0.0.0 in "
                                    "a container, where the bootstrap hosts are the nodes' names")
    kafka_version: str = Field("3.9.1", description="Apache Kafka version fetched from Maven Central")
    data_dir: Path = Field(Path(".hub-data"), description="persistent broker data, pid file, keys")
    kafka_home: Path | None = Field(None, description="where Kafka jars are cached (default: under ~/.cache)")
    broker_heap_mb: int = Field(512, description="max heap of the local broker JVM")

    # --- security ------------------------------------------------------------------
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None

    # --- topics and app ----------------------------------------------------------------
    partitions: int = Field(HUB_PARTITIONS, ge=1, description="partitions of every co-partitioned hub topic: "
                            "the most workers that share the work (grow only, see the README)")
    replication_factor: int = Field(REPLICATION_FACTOR, ge=1, description="brokers holding each topic's "
                                    "records, internal topics included (1 only for a single development node)")
    min_insync_replicas: int = Field(MIN_INSYNC_REPLICAS, ge=1, description="replicas that must hold a write "
                                     "before it is acknowledged (producers are acks=all); 1 on a single node")
    topic_prefix: str = Field("", description="prefix of every catalog topic (tests use a random one)")
    app_id: str = Field("interop-hub", description="faust app id: group id and internal-topic prefix")
    store: str = Field("memory://", description="faust table store URL of the small tables")
    large_table_store: str = Field(
        "rocksdb://", description="store of the tables with a row per request or case (requests, deadline_index, "
        "terminated_cases): rocksdb:// or memory://"
    )
    rocksdb_cache_mb: int = Field(16, description="block cache of each RocksDB partition database")
    rocksdb_write_buffer_mb: int = Field(8, description="memtable size of each RocksDB partition database")
    max_message_bytes: int = Field(1_048_576, description="largest accepted message value")
    producer_batch_bytes: int = Field(1_048_576, ge=16_384, description="largest batch the worker's producer "
                                      "builds per partition: a send to a partition whose batch is full waits "
                                      "for the broker's ack of the request before it (aiokafka's default, "
                                      "16 KiB, is ~3 rewritten table rows)")
    audit_head_interval_s: float = Field(1.0, gt=0, description="how often a grown audit chain gets a tree head")
    audit_head_idle_s: float = Field(60.0, gt=0, description="longest an owned audit chain goes without a head")

    consumer_fetch_max_wait_ms: int = Field(100, ge=1, le=1500, description="longest the worker's consumer "
                                            "long-polls the broker: the most a record waits for the fetch "
                                            "(hub.consumer; faust alone would use 1,500)")

    # --- terminated-case sweeps (终本统查, seed 001 §(二); hub.flows.sweeps) ------------------------------
    sweep_interval_days: int = Field(90, ge=1, description="days between two sweeps of a terminated case")
    sweep_ceiling_per_s: float = Field(5.0, gt=0, description="sweep requests a second an agency accepts, unless "
                                       "sweep_ceilings names it")
    sweep_ceilings: str = Field("", pattern=r"^(\s*[a-z0-9]+\s*=\s*[0-9]+(\.[0-9]+)?\s*(,|$))*$",
                                description="per-agency sweep ceilings, what each bank states it accepts: "
                                "'icbc=20,ccb=12.5' (requests a second)")
    sweep_window: int = Field(24, ge=1, description="most sweep requests outstanding at one agency (back-pressure: "
                              "due sweeps wait in the hub beyond it; about ceiling x answer time is enough, and a "
                              "larger window lets an agency's replies come back as one burst ahead of live ones)")
    sweep_input_wait_budget_ms: int = Field(60, ge=1, description="live work first: while the hub's live input "
                                            "records (not a sweep's replies) wait longer than this for a worker "
                                            "(99th percentile over 2 s), its sweeps slow down "
                                            "(hub.flows.sweeps.lane)")

    # --- web, metrics --------------------------------------------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, description="port of /metrics and /health")
    prometheus_port: int = Field(0, description="port of the main job's Prometheus (0: any free port)")
    web_token: SecretStr | None = Field(
        None, description="bearer token of every HTTP page but /health, /ready, /metrics "
        "(default: <data_dir>/secrets/web-token, created on first use; see hub.web_token)"
    )
    health_timeout_s: float = Field(2.0, description="timeout of each /health dependency check")

    # --- clock -------------------------------------------------------------------------
    clock: Literal["system", "manual"] = Field(
        "system", description="'manual' lets tests and the demo advance time explicitly"
    )
    clock_start: str | None = Field(None, description="ISO-8601 start instant of a manual clock")

    # --- runtime -------------------------------------------------------------------------
    event_loop: Literal["uvloop", "asyncio"] = Field("uvloop", description="event loop of every hub process")

    # --- logging -------------------------------------------------------------------------
    log_level: str = "INFO"
    #: "json": every hub process logs one JSON object per line (hub.log_format)
    log_format: Literal["text", "json"] = "text"

    @property
    def catalog(self) -> Catalog:
        """The catalog laid out for this deployment: its partition count and replication."""
        return _catalog(self.partitions, self.replication_factor, self.min_insync_replicas)

    def sweep_ceiling(self, code: str) -> float:
        """Sweep requests a second agency ``code`` accepts (``sweep_ceilings``, else ``sweep_ceiling_per_s``)."""
        for item in self.sweep_ceilings.split(","):
            name, _, rate = item.partition("=")
            if name.strip() == code and rate.strip():
                return float(rate)
        return self.sweep_ceiling_per_s

    def topic(self, name: str) -> str:
        """The physical Kafka topic name of catalog topic ``name``."""
        return f"{self.topic_prefix}{name}"

    @property
    def broker_url(self) -> str:
        return ",".join(f"kafka://{s.strip()}" for s in self.bootstrap_servers.split(","))

    def kafka_client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for aiokafka clients built from these settings."""
        kwargs: dict[str, object] = {"bootstrap_servers": self.bootstrap_servers}
        if self.security_protocol == "SASL_PLAINTEXT":
            kwargs.update(
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password.get_secret_value() if self.sasl_password else None,
            )
        return kwargs


@lru_cache(maxsize=8)
def _catalog(partitions: int, replication_factor: int, min_insync_replicas: int) -> Catalog:
    return build_catalog(partitions=partitions, replication_factor=replication_factor,
                         min_insync_replicas=min_insync_replicas)


@lru_cache(maxsize=1)
def get_settings() -> HubSettings:
    """Settings of this process, read once from the environment."""
    return HubSettings()


def agency_store(settings: HubSettings, kind: str) -> Path:
    """Where a simulated agency keeps its state: per data dir, and per topic prefix within it."""
    base = Path(settings.data_dir) / kind
    prefix = settings.topic_prefix.strip(".")
    return base / prefix if prefix else base
