"""The worker's HTTP port on a running worker: personal data only with the bearer token.

Security issue "personal data over HTTP without a login": only /health, /ready and /metrics answer
anonymous callers; /requests, /requests/{id} and /clock (GET and POST) need
``Authorization: Bearer <token>`` and answer 401 with a JSON error and no data otherwise; faust's
built-in views (/table, /router, /graph, the statistics at /) are not served.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import pytest

from agents.court.samples import query_request
from hub.clock import ManualClock
from hub.codec import default_codec
from hub.process import WorkerProcess, http_json, http_text
from hub.web_token import web_token, web_token_path
from tests.integration.kafka_io import produce

CODEC = default_codec()
ID_NUMBER = "11010519491231002X"
WRONG = "wrong-token-" + secrets.token_urlsafe(16)
FAUST_PAGES = ["/table/requests/{id}/", "/table/requests/", "/table/", "/", "/router/", "/router/requests/{id}/",
               "/graph/", "/assignment/", "/performance/"]


@pytest.fixture(scope="module")
def request_row(hub_worker: WorkerProcess) -> dict[str, Any]:
    """A court request the worker has accepted: its row is in the ``requests`` table."""
    case = f"（2024）京0105执{secrets.randbelow(9000) + 1000}号"
    msg = query_request(ManualClock(), bank="icbc", case_number=case, id_number=ID_NUMBER)
    asyncio.run(produce(hub_worker.settings, "court.requests", CODEC.encode_message(msg), case.encode()))
    deadline = time.monotonic() + 60
    while True:
        status, row = hub_worker.http(f"/requests/{msg.request_id}")
        if status == 200:
            return dict(row)
        assert time.monotonic() < deadline, row
        time.sleep(0.3)


def _call(worker: WorkerProcess, method: str, path: str, token: str | None) -> tuple[int, Any]:
    data = {"advance_seconds": 1} if method == "POST" else None
    return http_json(worker.base_url + path, 5.0, data, token=token)


@pytest.mark.parametrize("token", [None, WRONG], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize(("method", "path"), [("GET", "/requests"), ("GET", "/requests/{id}"),
                                              ("GET", "/requests?agency=icbc&limit=1000"), ("GET", "/clock"),
                                              ("POST", "/clock")])
def test_requests_and_clock_answer_401_without_the_right_token(hub_worker: WorkerProcess,
                                                                request_row: dict[str, Any], token: str | None,
                                                                method: str, path: str) -> None:
    _, before = hub_worker.http("/clock")
    status, body = _call(hub_worker, method, path.format(id=request_row["id"]), token)
    assert status == 401
    assert set(body) == {"error"} and "Bearer" in body["error"]
    assert request_row["case"] not in str(body) and request_row["id"] not in str(body)
    _, after = hub_worker.http("/clock")
    assert after == before, "a refused POST /clock does not move the clock"


def test_requests_and_clock_work_with_the_right_token(hub_worker: WorkerProcess,
                                                      request_row: dict[str, Any]) -> None:
    token = web_token(hub_worker.settings)
    assert token.get_secret_value() == hub_worker.token.get_secret_value()
    status, row = http_json(f"{hub_worker.base_url}/requests/{request_row['id']}", token=token)
    assert status == 200 and row["id"] == request_row["id"] and row["case"] == request_row["case"]
    status, listing = hub_worker.http("/requests?agency=icbc&limit=1000")
    assert status == 200 and request_row["id"] in {r["id"] for r in listing["requests"]}
    status, clock = hub_worker.http("/clock")
    assert status == 200 and clock["kind"] == "manual"
    status, moved = hub_worker.http("/clock", data={"advance_seconds": 0})
    assert status == 200 and moved["now"] == clock["now"]


@pytest.mark.parametrize("path", FAUST_PAGES)
def test_faust_builtin_views_are_not_served(hub_worker: WorkerProcess, request_row: dict[str, Any],
                                            path: str) -> None:
    url = hub_worker.base_url + path.format(id=request_row["id"])
    for token in (None, WRONG):
        status, body = http_json(url, 5.0, token=token)
        assert status == 401 and set(body) == {"error"}, (token, body)
    status, body = http_json(url, 5.0, token=hub_worker.token)
    assert status == 404, body
    assert request_row["case"] not in str(body) and ID_NUMBER not in str(body)


def test_health_ready_and_metrics_need_no_token(hub_worker: WorkerProcess) -> None:
    status, report = http_json(hub_worker.base_url + "/health")
    assert status == 200 and report["status"] == "ok"
    status, ready = http_json(hub_worker.base_url + "/ready")
    assert status == 200 and ready["ready"]
    assert "interop_hub_up 1.0" in http_text(hub_worker.base_url + "/metrics")
    status, _ = http_json(hub_worker.base_url + "/health", token=WRONG)
    assert status == 200, "a wrong token does not lock out the public pages"


def test_worker_token_file_is_0600_in_a_0700_directory(hub_worker: WorkerProcess) -> None:
    path = web_token_path(hub_worker.settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.read_text(encoding="ascii").strip() == hub_worker.token.get_secret_value()


def test_web_port_is_bound_to_loopback_by_default() -> None:
    from hub.settings import HubSettings

    assert HubSettings.model_fields["web_host"].default == "127.0.0.1"
