"""The bearer token of the worker's HTTP port, and the check that every private page passes.

The token is made at setup, never committed: ``HUB_WEB_TOKEN`` when set, else the contents of
``<data_dir>/secrets/web-token``, which the first process that needs it creates (owner-only: the
directory 0700, the file 0600).  The worker and every client (the CLI, the demo, the benchmarks,
the simulators, the tests) call :func:`web_token` with the same settings, so they agree without
configuration.

Only ``/health``, ``/ready`` and ``/metrics`` answer anonymous callers; everything else needs
``Authorization: Bearer <token>`` (:func:`bearer_auth`).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import stat
import tempfile
from collections.abc import Collection
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

from hub.errors import ConfigError
from hub.settings import HubSettings

#: Pages served without a token: liveness, readiness and the Prometheus scrape (no personal data).
PUBLIC_PAGES = frozenset({"/health", "/ready", "/metrics"})
#: Shortest token accepted from ``HUB_WEB_TOKEN`` or the token file.
MIN_TOKEN_CHARS = 16
_TOKEN_BYTES = 32
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


def web_token_path(settings: HubSettings) -> Path:
    return Path(settings.data_dir) / "secrets" / "web-token"


def web_token(settings: HubSettings) -> SecretStr:
    """The token of the worker's HTTP port: ``HUB_WEB_TOKEN``, else the token file (created if absent)."""
    if settings.web_token is not None:
        return _checked(settings.web_token.get_secret_value(), "HUB_WEB_TOKEN")
    path = web_token_path(settings)
    _private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    return _create(path)


def _checked(value: str, source: object) -> SecretStr:
    token = value.strip()
    if len(token) < MIN_TOKEN_CHARS or not token.isascii() or any(c.isspace() for c in token):
        raise ConfigError(f"the web token must be at least {MIN_TOKEN_CHARS} printable ASCII characters "
                          f"without spaces", field=str(source))
    return SecretStr(token)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != _PRIVATE_DIR:
        os.chmod(path, _PRIVATE_DIR)  # an existing directory readable by others is tightened


def _read(path: Path) -> SecretStr:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "r", encoding="ascii") as fh:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, _PRIVATE_FILE)  # a token file readable by others is tightened
        return _checked(fh.read(), path)


def _create(path: Path) -> SecretStr:
    """Write a new token to a private temporary file, then link it into place.

    ``mkstemp`` creates the file 0600 whatever the umask; ``os.link`` publishes the complete file
    under its name or fails if another process got there first, in which case that process's token
    is the one.  No reader ever sees a partial, empty or wider-readable token file.
    """
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".web-token.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)
    finally:
        os.unlink(tmp)
    return SecretStr(token)


def authorization_header(token: SecretStr | str) -> str:
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    return f"Bearer {value}"


def is_authorized(header: str | None, token: SecretStr) -> bool:
    """True when ``header`` (an ``Authorization`` value) carries ``token`` as a bearer token."""
    if not header:
        return False
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    expected = token.get_secret_value().encode()
    return hmac.compare_digest(presented.strip().encode("utf-8", "replace"), expected)


def _json_error(status: int, error: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="interop-hub"'} if status == 401 else None
    return web.json_response({"error": error}, status=status, headers=headers)


def bearer_auth(token: SecretStr, pages: Collection[str], public: Collection[str] = PUBLIC_PAGES) -> Middleware:
    """aiohttp middleware: ``public`` pages for anyone; the rest need the token; only ``pages`` are served.

    Pages are route patterns (``/requests/{request_id}``).  A request with a missing or wrong token gets
    401 and no data whatever it asks for (an unknown path included, so nothing is learnt about what
    exists); with the token, a route outside ``pages`` (faust's built-in views, should a setting turn
    them back on) gets 404.  ``pages`` may be filled in after the middleware is built.
    """

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        pattern = resource.canonical if resource is not None else None
        if pattern in public:
            return await handler(request)
        if not is_authorized(request.headers.get("Authorization"), token):
            return _json_error(401, "unauthorized: send 'Authorization: Bearer <token>'")
        if pattern not in pages:
            return _json_error(404, "not found")
        return await handler(request)

    return require_token
