"""``interop-hub security apply [--jvm-per-command] | plan | env PRINCIPAL``."""

from __future__ import annotations

import argparse

from hub.console import echo
from hub.security.acls import plan
from hub.security.apply import apply_security
from hub.security.users import CredentialStore
from hub.settings import HubSettings


def _apply(args: argparse.Namespace, settings: HubSettings) -> int:
    report = apply_security(settings, settings.catalog, one_jvm=not args.jvm_per_command)
    for line in report.lines():
        echo(line)
    echo(f"credentials: {CredentialStore(settings.data_dir).path} (mode 0600, never commit it)")
    return 0


def _plan(args: argparse.Namespace, settings: HubSettings) -> int:
    rules = plan(settings.catalog, settings.topic_prefix, settings.app_id)
    for r in rules:
        echo(f"ALLOW User:{r.principal:<24} {r.operation:<9} {r.resource_type}:{r.pattern}:{r.name}")
    echo(f"{len(rules)} rules; everything else is denied")
    return 0


def _env(args: argparse.Namespace, settings: HubSettings) -> int:
    """Shell lines that make a process authenticate as PRINCIPAL (for `eval`, never for logs)."""
    password = CredentialStore(settings.data_dir).password(args.principal)
    echo("export HUB_SECURITY_PROTOCOL=SASL_PLAINTEXT")
    echo(f"export HUB_SASL_USERNAME={args.principal}")
    echo(f"export HUB_SASL_PASSWORD={password}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("security", help="SASL/SCRAM users and Kafka ACLs from the topic catalog")
    sub = parser.add_subparsers(dest="security_cmd", required=True)
    apply = sub.add_parser("apply", help="create every principal's SCRAM user and the catalog's ACLs "
                                         "on the running secure broker (idempotent)")
    apply.add_argument("--jvm-per-command", action="store_true",
                       help="one AclCommand JVM per batch through LocalBroker (slow; for comparison)")
    apply.set_defaults(func=_apply)
    sub.add_parser("plan", help="print the ACL allow rules the catalog implies").set_defaults(func=_plan)
    env = sub.add_parser("env", help="print HUB_SASL_* exports of one principal (its password included)")
    env.add_argument("principal")
    env.set_defaults(func=_env)
