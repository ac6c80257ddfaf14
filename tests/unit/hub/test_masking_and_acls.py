"""Log masking of personal data and the ACL plan derived from the topic catalog."""

from __future__ import annotations

import logging
import stat

import pytest

from hub.masking import MaskingFilter, install_masking, mask_text
from hub.security.acls import acl_command_args, plan
from hub.security.users import CredentialStore, principals
from hub.settings import HubSettings
from topics.catalog import ADMIN, COURT_GATEWAY, DEFAULT_CATALOG, HUB, acl_grants

ID = "11010519900307001X"
ACCOUNT = "6222021234567890123"
PHONE = "13800138000"


@pytest.mark.parametrize("raw", [ID, ID.lower(), ACCOUNT, PHONE, "+86 138-0013-8000", "010-62345678",
                                 "6222 0212 3456 7890", "account_number=12345678901", "账号：1234567890"])
def test_personal_numbers_are_masked_in_text(raw: str) -> None:
    masked = mask_text(f"freeze on {raw} failed")
    assert "*" in masked and raw not in masked and masked.startswith("freeze on ")


def test_ordinary_numbers_stay_readable() -> None:
    text = "offset 1234567 partition 3 took 1735779600123 ms case （2024）京0105执100号 amount 50000"
    assert mask_text(text) == text


ID_15 = "110105900307001"  # first generation: region, YYMMDD, sequence


@pytest.mark.parametrize("raw", [ID_15, "110105 900307 001", "110105-900307-001", "440100851231123"])
def test_15_digit_resident_ids_are_masked(raw: str) -> None:
    masked = mask_text(f"subject {raw}, freeze failed")
    assert raw not in masked and masked.startswith(("subject 110*", "subject 440*"))
    assert masked.endswith(", freeze failed") and "900307" not in masked and "851231" not in masked


@pytest.mark.parametrize("raw", ["110105 19900307 001X", "110105 1990 0307 0012", "110105 19900307 0012",
                                 "110105-19900307-001x", "110105 199003070012"])
def test_resident_ids_written_with_spaces_are_masked(raw: str) -> None:
    masked = mask_text(f"subject {raw} listed")
    assert raw not in masked and "1990" not in masked and "0307" not in masked
    assert masked.startswith("subject 110*") and masked.endswith(" listed")


@pytest.mark.parametrize("raw", ["6222-0200-1234-5678-901", "6222-0212-3456-7890", "6222-0200-1234-5678-9012-345"])
def test_hyphenated_account_numbers_are_masked(raw: str) -> None:
    masked = mask_text(f"deduct from {raw}.")
    assert raw not in masked and "0200" not in masked and "1234" not in masked and "0212" not in masked
    assert masked.startswith("deduct from 622*") and masked.endswith(".")


@pytest.mark.parametrize("text", [
    "committed at 1735779600123 ms (epoch ms) offset 123456789 lag 42",
    "window 2024-03-07 to 2024-03-10, at 2024-03-07T09:30:00.123+08:00, day 20240307",
    "fifteen digits that are no date 123456789012345 and 999999999999999",
    "offsets 1735779600123 1735779600456 partitions 0 1 2 3",
    "uuid 55048400-1234-4123-4567-446655440000 took 12.5 ms",
    "request 2024-0001 case （2024）京0105执100号 amount 1234-5678",
])
def test_timestamps_offsets_and_iso_dates_stay_readable(text: str) -> None:
    assert mask_text(text) == text


def test_the_filter_masks_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.masking")
    log.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.masking"):
            log.info("subject %s account %s", ID, ACCOUNT)
            try:
                raise ValueError(f"bad phone {PHONE}")
            except ValueError:
                log.exception("lookup failed")
    finally:
        log.filters.clear()
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert ID not in text and ACCOUNT not in text and PHONE not in text and "110**" in text


def test_install_masking_covers_records_of_every_logger(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_masking()
        install_masking()  # idempotent
        logging.getLogger("some.library").warning("id %s phone %s", ID, PHONE)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "id 110" in err and ID not in err and PHONE not in err


def test_every_catalog_grant_is_in_the_acl_plan_and_admin_needs_none() -> None:
    rules = plan(DEFAULT_CATALOG, "p.", "hub")
    topic_rules = {(r.principal, r.operation.upper(), r.name) for r in rules if r.resource_type == "topic"}
    for g in acl_grants(DEFAULT_CATALOG, "p."):
        if g.principal != ADMIN:
            assert (g.principal, g.operation, g.topic) in topic_rules
    assert not [r for r in rules if r.principal == ADMIN]


def test_agencies_get_only_their_own_mailboxes_and_literal_group() -> None:
    rules = plan(DEFAULT_CATALOG, "", "hub")
    icbc = [r for r in rules if r.principal == "bank-icbc"]
    assert {(r.resource_type, r.pattern, r.name) for r in icbc} == {
        ("topic", "literal", "agency.icbc.inbox"), ("topic", "literal", "agency.icbc.outbox"),
        ("topic", "literal", "agency.icbc.sweeps"),  # its sweep lane (终本统查), read only
        ("topic", "literal", "ops.audit.heads"), ("group", "literal", "hub-sim-icbc"),
        ("topic", "literal", "registry.keys"), ("topic", "literal", "registry.courts")}
    assert {r.operation for r in icbc if r.name == "agency.icbc.inbox"} == {"Read", "Describe"}
    assert {r.operation for r in icbc if r.name == "agency.icbc.outbox"} == {"Write", "Describe"}
    assert {(r.resource_type, r.pattern, r.name) for r in rules
            if r.principal == "police-mps" and r.resource_type == "group"} == {("group", "literal", "hub-sim-mps")}


def test_acl_commands_never_grant_a_principal_more_than_its_rules() -> None:
    """AclCommand adds principals x operations x resources: each batch must be a rectangle of the plan."""
    rules = plan(DEFAULT_CATALOG, "", "hub")
    wanted = {(r.principal, r.resource_type, r.pattern, r.name, r.operation) for r in rules}
    produced = set()
    for args in acl_command_args(rules):
        principal = args[args.index("--allow-principal") + 1].removeprefix("User:")
        pattern = args[args.index("--resource-pattern-type") + 1]
        ops = [args[i + 1] for i, a in enumerate(args) if a == "--operation"]
        resources = [(a[2:], args[i + 1]) for i, a in enumerate(args)
                     if a in ("--topic", "--group", "--transactional-id")]
        if "--cluster" in args:
            resources.append(("cluster", "kafka-cluster"))
        produced |= {(principal, rt, pattern, name, op) for rt, name in resources for op in ops}
    assert produced == wanted
    assert len(acl_command_args(rules)) < len(rules) / 3, "batched"


def test_hub_and_court_gateway_are_principals_and_credentials_are_private(tmp_path) -> None:
    names = principals(DEFAULT_CATALOG)
    assert HUB in names and COURT_GATEWAY in names and ADMIN not in names
    assert len(names) == len({a.principal for a in DEFAULT_CATALOG.agencies}) + 2
    store = CredentialStore(tmp_path)
    first, created = store.ensure(names)
    again, created_again = store.ensure(names)
    assert created == names and created_again == [] and first == again
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.settings_for(HubSettings(data_dir=tmp_path), HUB).sasl_username == HUB
