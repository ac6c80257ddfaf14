"""The worker's HTTP token: made at setup, owner-only, shared by every process; checked on every private page.

Security issue "personal data over HTTP without a login": only /health, /ready and /metrics answer
anonymous callers; everything else needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

import hub.web_token as web_token_module
from hub.errors import ConfigError
from hub.settings import HubSettings
from hub.web_token import (
    MIN_TOKEN_CHARS,
    PUBLIC_PAGES,
    bearer_auth,
    is_authorized,
    web_token,
    web_token_path,
)

TOKEN = SecretStr("right-token-0123456789abcdef")
WRONG = "wrong-token-0123456789abcdef"


def settings_for(data_dir: Path, **kw: object) -> HubSettings:
    return HubSettings(data_dir=data_dir, **kw)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_WEB_TOKEN", raising=False)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """umask 000: what the token code creates must be private by itself, not thanks to the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


# --- where the token comes from ------------------------------------------------------------------------


def test_token_file_is_created_0600_in_a_0700_directory(tmp_path: Path, no_env_token: None,
                                                        wide_umask: None) -> None:
    settings = settings_for(tmp_path / "data")
    token = web_token(settings)
    path = web_token_path(settings)
    assert path == tmp_path / "data" / "secrets" / "web-token"
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert path.read_text(encoding="ascii").strip() == token.get_secret_value()
    assert len(token.get_secret_value()) >= 43  # secrets.token_urlsafe(32)
    assert [p.name for p in path.parent.iterdir()] == ["web-token"], "no temporary file is left behind"


def test_every_caller_with_the_same_settings_gets_the_same_token(tmp_path: Path, no_env_token: None) -> None:
    first = web_token(settings_for(tmp_path))
    again = web_token(settings_for(tmp_path, web_port=7777))  # another process's settings, same data dir
    assert again.get_secret_value() == first.get_secret_value()
    assert web_token(settings_for(tmp_path / "other")).get_secret_value() != first.get_secret_value()


def test_token_is_a_secret_str_never_shown_in_reprs(tmp_path: Path, no_env_token: None) -> None:
    token = web_token(settings_for(tmp_path))
    assert isinstance(token, SecretStr)
    assert token.get_secret_value() not in repr(token) and token.get_secret_value() not in str(token)


def test_hub_web_token_setting_wins_and_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_WEB_TOKEN", TOKEN.get_secret_value())
    settings = settings_for(tmp_path)
    assert settings.web_token is not None
    assert web_token(settings).get_secret_value() == TOKEN.get_secret_value()
    assert not web_token_path(settings).exists()


def test_concurrent_first_use_agrees_on_one_token(tmp_path: Path, no_env_token: None) -> None:
    settings = settings_for(tmp_path)
    barrier = threading.Barrier(8)
    got: list[str] = []

    def take() -> None:
        barrier.wait()
        got.append(web_token(settings).get_secret_value())

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1
    assert web_token_path(settings).read_text(encoding="ascii").strip() == got[0]
    assert [p.name for p in web_token_path(settings).parent.iterdir()] == ["web-token"]


def test_token_file_or_directory_readable_by_others_is_made_private(tmp_path: Path, no_env_token: None) -> None:
    settings = settings_for(tmp_path)
    path = web_token_path(settings)
    path.parent.mkdir(parents=True)
    path.parent.chmod(0o755)
    path.write_text("operator-provided-token-0123456789\n", encoding="ascii")
    path.chmod(0o644)
    assert web_token(settings).get_secret_value() == "operator-provided-token-0123456789"
    assert mode(path.parent) == 0o700 and mode(path) == 0o600


@pytest.mark.parametrize("value", ["", "   ", "short", "has a space in it 0123456789"])
def test_weak_or_malformed_token_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HUB_WEB_TOKEN", value)
    with pytest.raises(ConfigError):
        web_token(settings_for(tmp_path))
    monkeypatch.delenv("HUB_WEB_TOKEN")
    path = web_token_path(settings_for(tmp_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value, encoding="ascii")
    with pytest.raises(ConfigError):
        web_token(settings_for(tmp_path))


def test_token_of_the_minimum_length_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_WEB_TOKEN", "x" * MIN_TOKEN_CHARS)
    assert web_token(settings_for(tmp_path)).get_secret_value() == "x" * MIN_TOKEN_CHARS


# --- how a request is checked --------------------------------------------------------------------------


def test_tokens_are_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = web_token_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(web_token_module.hmac, "compare_digest", spy)
    assert is_authorized(f"Bearer {TOKEN.get_secret_value()}", TOKEN)
    assert not is_authorized(f"Bearer {WRONG}", TOKEN)
    assert len(calls) == 2


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", f"Basic {TOKEN.get_secret_value()}", f"Bearer {WRONG}",
    f"Bearer {TOKEN.get_secret_value()}x", f"Bearer {TOKEN.get_secret_value()[:-1]}", "Bearer 令牌\udcff",
])
def test_missing_wrong_or_malformed_authorization_is_refused(header: str | None) -> None:
    assert not is_authorized(header, TOKEN)


def test_bearer_scheme_is_case_insensitive() -> None:
    assert is_authorized(f"bearer {TOKEN.get_secret_value()}", TOKEN)


PRIVATE_ROW = {"id": "r1", "case": "（2024）京0105执1234号", "id_number": "11010519491231002X", "name": "张三"}


def _app() -> web.Application:
    """A stand-in for the worker: its public pages, its private pages, and a faust-like table view."""

    async def public(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def private(request: web.Request) -> web.Response:
        return web.json_response(PRIVATE_ROW)

    pages = {"/requests", "/requests/{request_id}", "/clock"}
    app = web.Application(middlewares=[bearer_auth(TOKEN, pages | PUBLIC_PAGES)])
    for path in PUBLIC_PAGES:
        app.router.add_get(path, public)
    for path in pages:
        app.router.add_get(path, private)
    app.router.add_post("/clock", private)
    app.router.add_get("/table/{name}/{key}/", private)  # not one of the hub's pages
    app.router.add_get("/", private)
    return app


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(_app())) as c:
        yield c


NO_TOKEN: dict[str, str] = {}
WRONG_TOKEN = {"Authorization": f"Bearer {WRONG}"}
RIGHT_TOKEN = {"Authorization": f"Bearer {TOKEN.get_secret_value()}"}
PRIVATE_REQUESTS = [("GET", "/requests"), ("GET", "/requests/r1"), ("GET", "/clock"), ("POST", "/clock")]


@pytest.mark.parametrize("headers", [NO_TOKEN, WRONG_TOKEN], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize(("method", "path"), PRIVATE_REQUESTS)
async def test_private_pages_answer_401_with_a_json_error_and_no_data(
        client: TestClient[web.Request, web.Application], headers: dict[str, str], method: str, path: str) -> None:
    resp = await client.request(method, path, headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    body = await resp.json()
    assert set(body) == {"error"}
    assert "11010519491231002X" not in await resp.text()


@pytest.mark.parametrize(("method", "path"), PRIVATE_REQUESTS)
async def test_private_pages_work_with_the_right_token(client: TestClient[web.Request, web.Application],
                                                       method: str, path: str) -> None:
    resp = await client.request(method, path, headers=RIGHT_TOKEN)
    assert resp.status == 200
    assert await resp.json() == PRIVATE_ROW


@pytest.mark.parametrize("path", sorted(PUBLIC_PAGES))
async def test_health_ready_and_metrics_need_no_token(client: TestClient[web.Request, web.Application],
                                                      path: str) -> None:
    for headers in (NO_TOKEN, WRONG_TOKEN):
        resp = await client.get(path, headers=headers)
        assert resp.status == 200


@pytest.mark.parametrize("path", ["/table/requests/r1/", "/", "/router/", "/graph/", "/nowhere", "/health/"])
async def test_other_routes_answer_401_without_the_token_and_404_with_it(
        client: TestClient[web.Request, web.Application], path: str) -> None:
    for headers in (NO_TOKEN, WRONG_TOKEN):
        resp = await client.get(path, headers=headers)
        assert resp.status == 401 and set(await resp.json()) == {"error"}
    resp = await client.get(path, headers=RIGHT_TOKEN)
    assert resp.status == 404
    assert "11010519491231002X" not in await resp.text()
