"""Consumer-group ACLs: no principal's group grant reaches another principal's group.

Agency codes are prefixes of each other (cmb/cmbc, boc/bocom), so a PREFIXED grant on
``<app_id>-sim-cmb`` would let bank-cmb join ``<app_id>-sim-cmbc``.  Every group grant is a literal
name from :func:`topics.catalog.consumer_groups`, and the clients take their group ids from the same
functions.
"""

from __future__ import annotations

import ast
from itertools import permutations
from pathlib import Path

import pytest

from hub.security.acls import GROUP, LITERAL, PREFIXED, AclRule, plan
from topics.agencies import DEFAULT_AGENCIES, Agency, AgencyKind
from topics.catalog import (
    DEFAULT_CATALOG,
    HUB,
    Catalog,
    agency_group_id,
    build_catalog,
    consumer_groups,
    credit_sequencer_group_id,
)

ROOT = Path(__file__).resolve().parents[3]
APP_IDS = ("interop-hub", "hub", "hub-sec", "x")
#: codes that are prefixes of each other or of the other groups' suffixes
TRICKY = (
    Agency("sim", "s", "s", AgencyKind.BANK),
    Agency("sim-x", "s", "s", AgencyKind.BANK),
    Agency("court", "c", "c", AgencyKind.LOCAL_BANK, region="110000"),
    Agency("credit", "c", "c", AgencyKind.PAYMENT),
    Agency("credit-sequencer", "c", "c", AgencyKind.SECURITIES),
)
CATALOGS = (DEFAULT_CATALOG, build_catalog(DEFAULT_AGENCIES + TRICKY))
GROUP_FUNCTIONS = {"agency_group_id", "credit_sequencer_group_id", "court_gateway_group_id"}


def _matches(rule: AclRule, name: str) -> bool:
    """Whether Kafka's authorizer applies ``rule`` to the group ``name``."""
    if rule.pattern == LITERAL:
        return rule.name == name or rule.name == "*"
    assert rule.pattern == PREFIXED
    return name.startswith(rule.name)


def _overlap(a: AclRule, b: AclRule) -> bool:
    """Whether some group name is matched by both rules."""
    if a.pattern == LITERAL:
        return _matches(b, a.name)
    if b.pattern == LITERAL:
        return _matches(a, b.name)
    return a.name.startswith(b.name) or b.name.startswith(a.name)


def _group_rules(catalog: Catalog, app_id: str) -> dict[str, list[AclRule]]:
    out: dict[str, list[AclRule]] = {}
    for rule in plan(catalog, "p.", app_id):
        if rule.resource_type == GROUP:
            out.setdefault(rule.principal, []).append(rule)
    return out


def test_the_pattern_check_itself_sees_prefix_overlaps() -> None:
    cmb = AclRule("bank-cmb", GROUP, PREFIXED, "hub-sim-cmb", "Read")
    assert _matches(cmb, "hub-sim-cmbc") and not _matches(cmb, "hub-sim-cm")
    assert _overlap(cmb, AclRule("bank-cmbc", GROUP, PREFIXED, "hub-sim-cmbc", "Read"))
    assert _overlap(cmb, AclRule("bank-cmbc", GROUP, LITERAL, "hub-sim-cmbc", "Read"))
    assert not _overlap(AclRule("a", GROUP, LITERAL, "hub-sim-cmb", "Read"),
                        AclRule("b", GROUP, LITERAL, "hub-sim-cmbc", "Read"))


@pytest.mark.parametrize("app_id", APP_IDS)
@pytest.mark.parametrize("catalog", CATALOGS, ids=["default", "tricky-codes"])
def test_no_group_grant_of_one_principal_matches_a_group_of_another(catalog: Catalog, app_id: str) -> None:
    rules = _group_rules(catalog, app_id)
    groups = consumer_groups(catalog, app_id)
    assert set(rules) == set(groups), "every principal with groups has grants, and only those"
    checked = 0
    for p, q in permutations(groups, 2):
        for rule in rules[p]:
            for name in groups[q]:
                assert not _matches(rule, name), f"{p}'s grant {rule} matches {q}'s group {name!r}"
            for other in rules[q]:
                assert not _overlap(rule, other), f"{p}'s grant {rule} overlaps {q}'s grant {other}"
            checked += 1
    assert checked > len(groups) ** 2 / 2


@pytest.mark.parametrize("app_id", APP_IDS)
def test_group_grants_are_literal_names_of_the_principals_own_groups(app_id: str) -> None:
    rules = _group_rules(DEFAULT_CATALOG, app_id)
    groups = consumer_groups(DEFAULT_CATALOG, app_id)
    for principal, granted in rules.items():
        assert {r.pattern for r in granted} == {LITERAL}
        assert {r.name for r in granted} == set(groups[principal])
    cmb = {r.name for r in rules["bank-cmb"]}
    assert cmb == {f"{app_id}-sim-cmb"} and f"{app_id}-sim-cmbc" not in cmb


def test_the_clients_group_ids_are_granted_to_their_principals() -> None:
    app_id = "interop-hub"
    granted = {(r.principal, r.name) for rules in _group_rules(DEFAULT_CATALOG, app_id).values() for r in rules}
    for agency in DEFAULT_CATALOG.agencies:
        assert (agency.principal, agency_group_id(app_id, agency.code)) in granted
    # faust's consumer group id is the app id (faust.transport.drivers.aiokafka: group_id=conf.id)
    assert (HUB, app_id) in granted
    assert (HUB, credit_sequencer_group_id(app_id)) in granted
    assert {(r.operation) for r in _group_rules(DEFAULT_CATALOG, app_id)[HUB]} == {"Read", "Describe"}


def _group_id_values() -> list[tuple[str, ast.expr]]:
    found = []
    for top in ("hub", "agents", "bench"):  # bench/ left hub/ (dev-only code beside the product)
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.keyword) and node.arg == "group_id":
                    found.append((f"{path.relative_to(ROOT)}:{node.value.lineno}", node.value))
    return found


def test_no_client_spells_its_group_id_itself() -> None:
    """Every ``group_id=`` of the project comes from a catalog function (or is a caller's parameter)."""
    found = _group_id_values()
    assert len(found) >= 4, "the simulators and the credit sequencer set group ids"
    for where, value in found:
        if isinstance(value, ast.Name):
            continue  # passed through from the caller (the bench relay's command-line group)
        assert isinstance(value, ast.Call) and isinstance(value.func, ast.Name), where
        assert value.func.id in GROUP_FUNCTIONS, where
