"""``security apply``: SCRAM users for every principal, then the catalog's ACLs, on a secure broker."""

from __future__ import annotations

from dataclasses import dataclass

from hub.broker.config import scram_credential_spec
from hub.broker.server import LocalBroker
from hub.errors import BrokerError
from hub.security.acls import AclRule, acl_command_args, plan
from hub.security.jvm import BatchResult, ToolCall, run_batch, run_each
from hub.security.users import CredentialStore, principals
from hub.settings import HubSettings
from topics.catalog import Catalog

ACL_COMMAND = "kafka.admin.AclCommand"
CONFIG_COMMAND = "kafka.admin.ConfigCommand"


@dataclass(frozen=True)
class SecurityReport:
    users: int
    users_created: int
    rules: int
    acl_commands: int
    seconds: float
    jvms: int

    def lines(self) -> list[str]:
        return [
            f"{self.users} SCRAM-SHA-512 users ({self.users_created} new credentials)",
            f"{self.rules} ACL allow rules in {self.acl_commands} AclCommand batches; everything else is denied",
            f"applied in {self.seconds:.1f} s with {self.jvms} JVM{'s' if self.jvms != 1 else ''}",
        ]


def user_calls(passwords: dict[str, str], names: list[str]) -> list[ToolCall]:
    """ConfigCommand calls creating or updating each user's SCRAM-SHA-512 credentials."""
    calls = []
    for name in names:
        calls.append(ToolCall(CONFIG_COMMAND, ("--alter", "--add-config", scram_credential_spec(passwords[name]),
                                               "--entity-type", "users", "--entity-name", name)))
    return calls


def acl_calls(rules: list[AclRule]) -> list[ToolCall]:
    return [ToolCall(ACL_COMMAND, tuple(args)) for args in acl_command_args(rules)]


def apply_security(settings: HubSettings, catalog: Catalog, *, one_jvm: bool = True,
                   broker: LocalBroker | None = None) -> SecurityReport:
    """Create the users and ACLs on the running secure broker of ``settings`` (idempotent)."""
    broker = broker or LocalBroker(settings, secure=True)
    if not broker.secure:
        raise BrokerError("security apply needs a broker started with --secure")
    names = principals(catalog)
    store = CredentialStore(settings.data_dir)
    passwords, created = store.ensure(names)
    rules = plan(catalog, settings.topic_prefix, settings.app_id)
    users, acls = user_calls(passwords, names), acl_calls(rules)
    if one_jvm:  # users and ACLs are independent: one JVM for all of them
        result = run_batch(broker, users + acls)
    else:
        first = run_batch(broker, users)
        each = run_each(broker, acls)
        result = BatchResult(first.calls + each.calls, first.jvms + each.jvms, first.seconds + each.seconds, "")
    return SecurityReport(users=len(names), users_created=len(created), rules=len(rules),
                          acl_commands=len(acls), seconds=result.seconds, jvms=result.jvms)
