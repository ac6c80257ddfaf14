"""Every producer of the project is ``acks=all`` and idempotent, the hub worker's faust producer included.

faust passes ``acks`` (its ``producer_acks`` setting) to aiokafka but ``enable_idempotence`` only under
exactly-once processing; :class:`hub.producer.GuardedProducer` adds both to the kwargs it builds the
aiokafka producer with.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hub.producer import GuardedProducer
from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[3]


class _Recorder:
    """Stands in for ``aiokafka.AIOKafkaProducer``: keeps the kwargs faust builds it with."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        _Recorder.calls.append(kwargs)


def _worker_producer(tmp_path: Path) -> GuardedProducer:
    from hub.worker_app import create_app  # the worker's app factory

    settings = HubSettings(bootstrap_servers="127.0.0.1:1", app_id="test-durable-producer", data_dir=tmp_path)
    producer = create_app(settings).producer
    assert isinstance(producer, GuardedProducer)
    return producer


async def test_the_worker_producer_is_built_with_acks_all_and_idempotence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    producer = _worker_producer(tmp_path)
    monkeypatch.setattr(GuardedProducer, "_producer_type", property(lambda self: _Recorder))
    _Recorder.calls.clear()
    producer._new_producer()
    assert len(_Recorder.calls) == 1
    kwargs = _Recorder.calls[0]
    assert kwargs["acks"] in ("all", -1)
    assert kwargs["enable_idempotence"] is True


async def test_the_worker_aiokafka_producer_waits_for_all_replicas_and_is_idempotent(tmp_path: Path) -> None:
    aio = _worker_producer(tmp_path)._new_producer()  # a real aiokafka producer, never started
    try:
        assert aio._sender._acks == -1, "acks=all"
        assert aio._txn_manager is not None, "enable_idempotence=True (producer id + sequence numbers)"
        assert aio._txn_manager.transactional_id is None, "idempotent, not transactional"
    finally:
        await aio.stop()


def _producer_calls() -> list[tuple[str, ast.Call]]:
    found = []
    for top in ("hub", "agents", "bench"):  # bench/ left hub/ (dev-only code beside the product)
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "AIOKafkaProducer"):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def test_every_aiokafka_producer_of_hub_and_agents_is_acks_all_and_idempotent() -> None:
    calls = _producer_calls()
    assert len(calls) >= 6, "simulators, court adapter, bench"
    for where, call in calls:
        kw = {k.arg: k.value for k in call.keywords if k.arg is not None}
        acks, idempotent = kw.get("acks"), kw.get("enable_idempotence")
        assert isinstance(acks, ast.Constant) and acks.value == "all", f"{where}: acks='all'"
        assert isinstance(idempotent, ast.Constant) and idempotent.value is True, f"{where}: enable_idempotence"


async def test_the_worker_producer_batches_up_to_the_setting_so_a_burst_never_waits_for_an_ack(tmp_path: Path) -> None:
    """aiokafka keeps one batch per partition and a send to a full one waits until the request before it is
    acknowledged; at its default 16 KiB (~3 rewritten table rows) a sweep's burst of changelog writes waited on
    the broker record by record."""
    producer = _worker_producer(tmp_path)
    aio = producer._new_producer()
    try:
        assert aio._message_accumulator._batch_size == HubSettings().producer_batch_bytes == 1_048_576
    finally:
        await aio.stop()
