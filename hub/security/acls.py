"""Kafka ACLs generated from the topic catalog: everything not granted here is denied.

The broker runs ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false`` and only
``admin`` (and the node's own ``controller`` login) as super users, so a principal can do exactly what
these allow rules say.  Topic produce/consume rules come from :func:`topics.catalog.acl_grants`;
the rest are what the processes need around them:

* hub: transactional ids and internal topics (the credit journal, faust's internals) by the prefix
  ``app_id``; ``Create`` on its table changelogs (faust declares them); ``Describe`` on the cluster.
* consumer groups, for every principal: the LITERAL names of :func:`topics.catalog.consumer_groups`
  (the hub's faust group ``app_id`` and ``<app_id>-credit-sequencer``, ``<app_id>-sim-<code>`` of each
  agency, ``<app_id>-court`` of the court gateway).  Never a prefix: agency codes are prefixes of each
  other (cmb/cmbc, boc/bocom), so a prefixed grant to bank-cmb would let it join cmbc's group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from topics.catalog import ADMIN, HUB, Catalog, Role, acl_grants, consumer_groups

LITERAL = "literal"
PREFIXED = "prefixed"
TOPIC = "topic"
GROUP = "group"
TRANSACTIONAL_ID = "transactional-id"
CLUSTER = "cluster"
CLUSTER_NAME = "kafka-cluster"

#: catalog operation -> AclCommand's spelling
_OPERATIONS = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "CREATE": "Create"}


@dataclass(frozen=True, slots=True, order=True)
class AclRule:
    """One allow rule: ``principal`` may ``operation`` on a resource."""

    principal: str
    resource_type: str  # topic / group / transactional-id / cluster
    pattern: str  # literal / prefixed
    name: str
    operation: str  # Read / Write / Describe / Create ...


def plan(catalog: Catalog, topic_prefix: str, app_id: str) -> list[AclRule]:
    """Every allow rule of the deployment, sorted and without duplicates (admin is a super user)."""
    rules: set[AclRule] = set()
    for grant in acl_grants(catalog, topic_prefix):
        if grant.principal != ADMIN:
            rules.add(AclRule(grant.principal, TOPIC, LITERAL, grant.topic, _OPERATIONS[grant.operation]))
    # the hub
    for op in ("Read", "Write", "Describe", "Create"):
        rules.add(AclRule(HUB, TOPIC, PREFIXED, app_id, op))
    for spec in catalog.by_role(Role.TABLE_CHANGELOG):
        rules.add(AclRule(HUB, TOPIC, LITERAL, topic_prefix + spec.name, "Create"))
    for op in ("Write", "Describe"):
        rules.add(AclRule(HUB, TRANSACTIONAL_ID, PREFIXED, app_id, op))
    rules.add(AclRule(HUB, CLUSTER, LITERAL, CLUSTER_NAME, "Describe"))
    # every principal: its own consumer groups, by literal name only
    for principal, groups in consumer_groups(catalog, app_id).items():
        for group in groups:
            for op in ("Read", "Describe") if principal == HUB else ("Read",):
                rules.add(AclRule(principal, GROUP, LITERAL, group, op))
    return sorted(rules)


def acl_command_args(rules: list[AclRule]) -> list[list[str]]:
    """``kafka.admin.AclCommand --add`` argument lists, batched.

    AclCommand adds the cross product of its principals, operations and resources, so rules are
    grouped by (principal, resource type, pattern type, set of operations): each group is one
    command with many ``--topic`` (or ``--group``...) options, and no principal gets more than
    its rules.
    """
    ops_of: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for r in rules:
        ops_of[(r.principal, r.resource_type, r.pattern, r.name)].add(r.operation)
    batches: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (principal, rtype, pattern, name), ops in ops_of.items():
        batches[(principal, rtype, pattern, tuple(sorted(ops)))].append(name)
    commands: list[list[str]] = []
    for (principal, rtype, pattern, op_names), names in sorted(batches.items()):
        args = ["--add", "--allow-principal", f"User:{principal}", "--resource-pattern-type", pattern]
        for op in op_names:
            args += ["--operation", op]
        if rtype == CLUSTER:
            args.append("--cluster")
        else:
            for name in sorted(names):
                args += [f"--{rtype}", name]
        commands.append(args)
    return commands
