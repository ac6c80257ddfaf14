"""SCRAM credentials of every principal, generated at setup and kept in ``<data_dir>/secrets`` (0600).

Passwords are random (``secrets.token_urlsafe``), written once to ``users.json`` readable by the
owner only, never printed and never committed (``.hub-data`` is git-ignored).  The admin's
password is the broker's own (``LocalBroker.admin_password``); it is not stored here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr

from hub.errors import ConfigError
from hub.file_modes import write_private
from hub.settings import HubSettings
from topics.catalog import ADMIN, Catalog

USERS_FILE = "users.json"
_PASSWORD_BYTES = 24


def principals(catalog: Catalog) -> list[str]:
    """Every principal that needs a SCRAM user: the hub, the court gateway, every agency (not admin)."""
    names = set(catalog.principals()) | {a.principal for a in catalog.agencies}
    names.discard(ADMIN)
    return sorted(names)


class CredentialStore:
    """``<data_dir>/secrets/users.json``: principal -> password, mode 0600 in a 0700 directory."""

    def __init__(self, data_dir: Path) -> None:
        self.secrets_dir = Path(data_dir).expanduser().resolve() / "secrets"
        self.path = self.secrets_dir / USERS_FILE

    def load(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data = json.loads(text)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError(f"{self.path} is not a principal -> password map", field="secrets")
        return {str(k): v for k, v in data.items()}

    def ensure(self, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """All credentials of ``names`` (and any stored before); generates the missing ones."""
        stored = self.load()
        created = [n for n in names if n not in stored]
        for name in created:
            stored[name] = secrets.token_urlsafe(_PASSWORD_BYTES)
        if created or not self.path.exists():
            self._write(stored)
        return stored, created

    def password(self, principal: str) -> str:
        try:
            return self.load()[principal]
        except KeyError:
            raise ConfigError(
                f"no credentials for {principal!r} in {self.path}; run `interop-hub security apply`",
                field="principal",
            ) from None

    def settings_for(self, settings: HubSettings, principal: str) -> HubSettings:
        """``settings`` authenticating as ``principal`` over SASL/SCRAM."""
        return settings.model_copy(update={
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_username": principal,
            "sasl_password": SecretStr(self.password(principal)),
        })

    def _write(self, data: dict[str, str]) -> None:
        write_private(self.path, json.dumps(dict(sorted(data.items())), indent=1).encode("utf-8"))


def as_principal(settings: HubSettings, principal: str) -> HubSettings:
    """``settings`` for a process acting as ``principal``: on a secure deployment it logs in as that
    principal with its generated credentials (an agency simulator as the agency, the court client as the
    court gateway); on a plain one nothing changes."""
    if settings.security_protocol != "SASL_PLAINTEXT" or settings.sasl_username == principal:
        return settings
    return CredentialStore(settings.data_dir).settings_for(settings, principal)


def admin_settings(settings: HubSettings, admin_password: str) -> HubSettings:
    """``settings`` authenticating as the broker's super user ``admin``."""
    return settings.model_copy(update={
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_username": ADMIN,
        "sasl_password": SecretStr(admin_password),
    })
